import autocannon from "autocannon";
import type { BenchEvent, Payload } from "./payloads.ts";
import { nowMs } from "./stats.ts";

/*
 * One autocannon run against one Worker, as fast as it answers (fixed rates: paced-load.ts). Besides autocannon's own numbers it keeps what the
 * drain-lag and end-to-end checks need: when each 2xx arrived and which events it covered, and
 * every 2xx latency at sub-millisecond precision (autocannon's histogram rounds to 1 ms).
 */

export interface LoadSpec {
	url: string;
	headers: Record<string, string>;
	connections: number;
	/** Either a duration or a number of requests. */
	durationSeconds?: number;
	requests?: number;
	next: () => Payload;
	/** Sees each 2xx body (end-to-end check); leave unset under load, reading bodies costs. */
	onBody?: (body: string) => void;
}

export interface Ack {
	at: number;
	events: readonly BenchEvent[];
	repeat: boolean;
}

export interface LoadResult {
	startedAt: number;
	finishedAt: number;
	ok: number;
	non2xx: number;
	errors: number;
	timeouts: number;
	/** Events carried by the 2xx requests. */
	events: number;
	/**
	 * Events carried by every request sent, answered or not: a timed autocannon run stops with
	 * requests in flight, which the Worker still processes and pays for (the cost meter's denominator).
	 */
	eventsSent: number;
	latenciesMs: number[];
	acks: Ack[];
}

type Context = { payload?: Payload };

const MAX_REJECTIONS_SHOWN = 5;

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
	const acks: Ack[] = [];
	const latenciesMs: number[] = [];
	let events = 0;
	let eventsSent = 0;
	let rejectionsShown = 0;
	const startedAt = nowMs();
	return new Promise((resolve, reject) => {
		const instance = autocannon(
			{
				url: spec.url,
				connections: spec.connections,
				...(spec.requests === undefined ? { duration: spec.durationSeconds ?? 5 } : { amount: spec.requests }),
				timeout: 30,
				requests: [
					{
						method: "POST",
						headers: { "content-type": "application/json; charset=utf-8", ...spec.headers },
						setupRequest: (request, context: Context) => {
							const payload = spec.next();
							context.payload = payload;
							eventsSent += payload.events.length;
							return { ...request, body: payload.body };
						},
						onResponse: (status, body, context: Context) => {
							if (status < 200 || status >= 300) {
								// A non-2xx is a finding, not noise: show what the Worker said.
								if (rejectionsShown < MAX_REJECTIONS_SHOWN)
									console.error(`[bench] HTTP ${status}: ${body.slice(0, 300)}`);
								rejectionsShown += 1;
								return;
							}
							if (context.payload === undefined) return;
							const { events: covered, repeat } = context.payload;
							const ack = { at: nowMs(), events: covered, repeat };
							acks.push(ack);
							events += covered.length;
							spec.onBody?.(body);
						},
					},
				],
			},
			(error, result) => {
				if (error) return reject(error);
				resolve({
					startedAt,
					finishedAt: nowMs(),
					ok: result["2xx"],
					non2xx: result.non2xx,
					errors: result.errors,
					timeouts: result.timeouts,
					events,
					eventsSent,
					latenciesMs,
					acks,
				});
			},
		);
		instance.on("response", (_client, statusCode, _bytes, responseTime) => {
			if (statusCode >= 200 && statusCode < 300) latenciesMs.push(responseTime);
		});
	});
}
