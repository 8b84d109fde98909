import { Agent } from "node:http";
import type { Ack, LoadResult } from "./load.ts";
import type { Payload } from "./payloads.ts";
import { postJson } from "./post-json.ts";
import { nowMs, sleep } from "./stats.ts";

/*
 * Open-loop load at a steady rate: request i leaves at start + i / rate, whether or not earlier
 * ones have been answered. autocannon's overallRate is not usable for latency: each connection
 * sends its whole per-second quota back to back when the second starts, so the Worker sees one
 * burst per second and p50/p99 measure the burst's queue, not the Worker (bare's p50: 17 ms under
 * autocannon's bursts at 117 req/s, 1 ms paced at 198 req/s).
 */

export interface PacedSpec {
	url: string;
	headers: Record<string, string>;
	ratePerSecond: number;
	durationSeconds: number;
	next: () => Payload;
	onAck?: (ack: Ack) => void;
}

export async function runPacedLoad(spec: PacedSpec): Promise<LoadResult> {
	const agent = new Agent({ keepAlive: true, maxSockets: 256 });
	const url = new URL(spec.url);
	const total = Math.round(spec.ratePerSecond * spec.durationSeconds);
	const interval = 1000 / spec.ratePerSecond;
	const result: LoadResult = {
		startedAt: nowMs(),
		finishedAt: 0,
		ok: 0,
		non2xx: 0,
		errors: 0,
		timeouts: 0,
		events: 0,
		eventsSent: 0,
		latenciesMs: [],
		acks: [],
	};
	const inFlight: Promise<void>[] = [];
	for (let i = 0; i < total; i += 1) {
		const due = result.startedAt + i * interval;
		const wait = due - nowMs();
		if (wait > 1) await sleep(wait);
		const payload = spec.next();
		result.eventsSent += payload.events.length;
		inFlight.push(
			postJson(agent, url, spec.headers, payload.body).then((outcome) => {
				if ("error" in outcome) {
					result.errors += 1;
				} else if (outcome.status < 200 || outcome.status >= 300) {
					result.non2xx += 1;
				} else {
					const ack = { at: nowMs(), events: payload.events, repeat: payload.repeat };
					result.ok += 1;
					result.events += payload.events.length;
					result.latenciesMs.push(outcome.latencyMs);
					result.acks.push(ack);
					spec.onAck?.(ack);
				}
			}),
		);
	}
	await Promise.all(inFlight);
	result.finishedAt = nowMs();
	agent.destroy();
	return result;
}
