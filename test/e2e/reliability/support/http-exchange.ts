import { type IncomingHttpHeaders, request } from "node:http";

/*
 * One request on its own connection with full control over the bytes: a body the client must not
 * reinterpret (invalid UTF-8, BOMs), a chunked upload with no Content-Length, any method. fetch
 * would normalize some of that away and hide whether the server dropped the connection.
 */

export interface RawRequest {
	method: string;
	path: string;
	headers: Record<string, string>;
	/** Sent with a Content-Length. */
	body?: Uint8Array;
	/** Sent with Transfer-Encoding: chunked, one write per chunk. */
	chunks?: readonly Uint8Array[];
}

export interface RawResponse {
	status: number;
	headers: IncomingHttpHeaders;
	text: string;
}

export class DroppedConnectionError extends Error {}

export function exchange(baseUrl: string, raw: RawRequest, timeoutMs = 30_000): Promise<RawResponse> {
	const url = new URL(raw.path, baseUrl);
	const headers: Record<string, string> = { ...raw.headers };
	if (raw.body !== undefined) headers["content-length"] = String(raw.body.byteLength);
	if (raw.chunks !== undefined) headers["transfer-encoding"] = "chunked";

	return new Promise((resolve, reject) => {
		let answered = false;
		let settled = false;
		const fail = (message: string) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			req.destroy();
			reject(new DroppedConnectionError(`${raw.method} ${raw.path}: ${message}`));
		};
		const timer = setTimeout(() => fail(`no complete answer within ${timeoutMs} ms`), timeoutMs);
		const req = request(url, { method: raw.method, headers, agent: false });

		req.on("response", (response) => {
			answered = true;
			const parts: Buffer[] = [];
			response.on("data", (part: Buffer) => parts.push(part));
			response.on("aborted", () => fail(`the connection closed in the middle of the ${response.statusCode} answer`));
			response.on("error", (error) => fail(`the answer broke off: ${error.message}`));
			response.on("end", () => {
				if (settled) return;
				settled = true;
				clearTimeout(timer);
				resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(parts).toString() });
				// A server may answer before it has read an oversized upload; stop sending the rest.
				req.destroy();
			});
		});
		// After a complete answer, a reset of the unread upload is the server's right (413 early).
		req.on("error", (error) => {
			if (!answered) fail(`the connection was dropped before any answer: ${error.message}`);
		});

		void (async () => {
			for (const chunk of raw.chunks ?? []) {
				if (answered || req.destroyed) return;
				if (!req.write(chunk)) await new Promise((drained) => req.once("drain", drained));
			}
			if (answered || req.destroyed) return;
			req.end(raw.body);
		})();
	});
}

/** The JSON body of an answer, or undefined when it is not JSON. */
export function jsonOf(response: RawResponse): unknown {
	try {
		return JSON.parse(response.text);
	} catch {
		return undefined;
	}
}
