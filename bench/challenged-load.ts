import { Agent } from "node:http";
import type { Ack } from "./load.ts";
import type { Payload } from "./payloads.ts";
import { postJson } from "./post-json.ts";
import { nowMs } from "./stats.ts";

/*
 * Callbacks as Bandwidth sends them to an endpoint with Basic auth (README "The callback
 * endpoint"; REFERENCE §2): each one first without credentials, which must draw a 401 with a
 * `WWW-Authenticate` challenge, then again with them. The body rides on both (the docs leave it
 * open; the first answer does not read it). `concurrency` callbacks are in flight at once, each
 * its two requests in turn. Used by the steady-state and storage scenarios, so the credential-less
 * attempt is billed as it is in production: one more Worker request per callback, relay and floor
 * alike.
 */

export interface ChallengedLoadSpec {
	url: string;
	/** Headers of the authenticated attempt (the first one goes without `authorization`). */
	headers: Record<string, string>;
	concurrency: number;
	callbacks: number;
	next: () => Payload;
}

export interface ChallengedLoadResult {
	startedAt: number;
	finishedAt: number;
	callbacks: number;
	/** First attempts answered 401 with a challenge, as Bandwidth needs to retry with credentials. */
	challenged: number;
	/** Authenticated attempts answered 2xx, and the events they carried. */
	ok: number;
	events: number;
	/** Events in every callback sent (the cost meter's denominator). */
	eventsSent: number;
	/** Anything else: a first attempt not challenged, a second not 2xx, a network error. */
	failures: string[];
	acks: Ack[];
}

export async function runChallengedLoad(spec: ChallengedLoadSpec): Promise<ChallengedLoadResult> {
	const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency * 2 });
	const url = new URL(spec.url);
	const { authorization: _, ...anonymous } = spec.headers;
	const result: ChallengedLoadResult = {
		startedAt: nowMs(),
		finishedAt: 0,
		callbacks: 0,
		challenged: 0,
		ok: 0,
		events: 0,
		eventsSent: 0,
		failures: [],
		acks: [],
	};
	const worker = async () => {
		while (result.callbacks < spec.callbacks) {
			result.callbacks += 1;
			const payload = spec.next();
			result.eventsSent += payload.events.length;
			const first = await postJson(agent, url, anonymous, payload.body);
			if ("error" in first || first.status !== 401 || first.challenge === null) {
				result.failures.push(`first attempt: ${JSON.stringify(first)}`);
				continue;
			}
			result.challenged += 1;
			const second = await postJson(agent, url, spec.headers, payload.body);
			if ("error" in second || second.status < 200 || second.status >= 300) {
				result.failures.push(`authenticated attempt: ${JSON.stringify(second)}`);
				continue;
			}
			result.ok += 1;
			result.events += payload.events.length;
			result.acks.push({ at: nowMs(), events: payload.events, repeat: payload.repeat });
		}
	};
	await Promise.all(Array.from({ length: spec.concurrency }, worker));
	agent.destroy();
	result.finishedAt = nowMs();
	return result;
}
