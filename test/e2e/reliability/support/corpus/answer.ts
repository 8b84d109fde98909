import { DroppedConnectionError, exchange, jsonOf, type RawResponse } from "../http-exchange.ts";
import type { CorpusCase } from "./model.ts";

/**
 * A 5xx that `wrangler dev`'s entry worker made, not the relay: it wraps a failed call to the
 * Worker as a plain-text 500 holding the error's stack ("Error: Network connection lost."),
 * whereas every 5xx of the relay's own is its JSON `{"error":{"code","message"}}`.
 */
export function fromLocalRuntime(response: RawResponse): boolean {
	const body = jsonOf(response) as { error?: { code?: unknown } } | undefined;
	return (
		response.status === 500 &&
		typeof body?.error?.code !== "string" &&
		String(response.headers["content-type"]).startsWith("text/plain") &&
		response.text.includes("Network connection lost")
	);
}

/**
 * An oversized upload's answer can be lost in transit, which is no fault of the relay's, so such a
 * case is sent again, at most twice; a relay that really fails fails every time, and a 5xx of the
 * relay's own is never retried. Two ways: a server may answer 413 before it has read all of an
 * upload and close (RFC 9112 §9.6), and the client's bytes still arriving draw a TCP reset that
 * can discard the answer unread; and under load the local runtime's entry worker can lose its
 * connection to the Worker and answer 500 itself (fromLocalRuntime). The relay reads an oversized
 * chunked body on a little before answering (src/http/read-body.ts), which makes both rare.
 */
export async function answerTo(baseUrl: string, corpusCase: CorpusCase, resent: string[]): Promise<RawResponse> {
	const oversized = corpusCase.expect.kind === "rejected" && corpusCase.expect.status === 413;
	for (let attempt = 1; ; attempt++) {
		const last = !oversized || attempt === 3;
		try {
			const response = await exchange(baseUrl, corpusCase.request);
			if (last || !fromLocalRuntime(response)) return response;
			resent.push(`${corpusCase.name}: the local runtime answered 500: ${response.text.split("\n")[0]}`);
		} catch (error) {
			if (last || !(error instanceof DroppedConnectionError)) throw error;
			resent.push(`${corpusCase.name}: ${(error as Error).message}`);
		}
	}
}
