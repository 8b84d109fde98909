import { type Agent, request } from "node:http";
import { nowMs } from "./stats.ts";

/** What one POST came back with: its status, how long it took, and a 401's challenge; or why it never answered. */
export type PostAnswer = { status: number; latencyMs: number; challenge: string | null } | { error: string };

/** One JSON POST on a kept-alive agent; the body is drained so the socket goes back to the pool. */
export function postJson(agent: Agent, url: URL, headers: Record<string, string>, body: string): Promise<PostAnswer> {
	const started = nowMs();
	return new Promise((resolve) => {
		const req = request(
			url,
			{
				method: "POST",
				agent,
				headers: {
					...headers,
					"content-type": "application/json; charset=utf-8",
					"content-length": Buffer.byteLength(body),
				},
			},
			(response) => {
				response.resume();
				const challenge = response.headers["www-authenticate"];
				response.on("end", () =>
					resolve({
						status: response.statusCode ?? 0,
						latencyMs: nowMs() - started,
						challenge: typeof challenge === "string" ? challenge : null,
					}),
				);
			},
		);
		// A relay that never answers is a failure of the run, not a reason for it to hang.
		req.setTimeout(30_000, () => req.destroy(new Error("timed out after 30 s")));
		req.on("error", (error) => resolve({ error: error.message }));
		req.end(body);
	});
}
