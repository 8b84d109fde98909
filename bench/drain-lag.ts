import { waitForIdle } from "./cpu.ts";
import type { Ack } from "./load.ts";
import { runPacedLoad } from "./paced-load.ts";
import { payloadGenerator } from "./payloads.ts";
import { ROUTE_HEADER } from "./processes.ts";
import type { RunContext } from "./scenarios.ts";
import { sinkLags } from "./scenarios.ts";
import { nowMs, sleep } from "./stats.ts";
import { type Target, WORKER_NAMES } from "./targets.ts";

/*
 * Drain lag of the relay at a fixed rate: 2xx → the event's row in D1, and 2xx → the sink. D1 is
 * read through bench/workers/probe.ts (same runtime, the relay's database), polled while the
 * load runs; a row counts as seen when the poll that found it returns, so each lag is an upper
 * bound, at most one poll interval late.
 */

export const POLL_INTERVAL_MS = 25;
const IDS_PER_POLL = 500;

export interface DrainLagResult {
	rate: number;
	events: number;
	d1LagMs: number[];
	sinkLagMs: number[];
	/** Events whose row never showed up before the deadline. */
	missingInD1: number;
}

/** Which of these event ids have their row in the relay's D1, read by bench/workers/probe.ts. */
export async function findRows(entryUrl: string, ids: readonly string[]): Promise<string[]> {
	const response = await fetch(`${entryUrl}/`, {
		method: "POST",
		headers: { [ROUTE_HEADER]: WORKER_NAMES.probe, "content-type": "application/json" },
		body: JSON.stringify(ids),
	});
	if (!response.ok) throw new Error(`probe answered ${response.status}: ${await response.text()}`);
	return response.json() as Promise<string[]>;
}

export async function measureDrainLag(ctx: RunContext, relay: Target, rate: number): Promise<DrainLagResult> {
	await waitForIdle(ctx.dev.workerdPids);
	await ctx.sink.reset();
	const pending = new Map<string, number>();
	const d1LagMs: number[] = [];
	let loading = true;

	// Polls until the load is over and every acknowledged event has its row (or time runs out).
	const poll = async () => {
		let deadline = Number.POSITIVE_INFINITY;
		while (loading || (pending.size > 0 && Date.now() < deadline)) {
			if (!loading && deadline === Number.POSITIVE_INFINITY) {
				deadline = Date.now() + ctx.config.drainTimeoutSeconds * 1000;
			}
			const started = Date.now();
			const ids = [...pending.keys()].slice(0, IDS_PER_POLL);
			if (ids.length > 0) {
				const found = await findRows(ctx.dev.entryUrl, ids);
				const at = nowMs();
				for (const id of found) {
					d1LagMs.push(at - pending.get(id)!);
					pending.delete(id);
				}
			}
			await sleep(Math.max(0, POLL_INTERVAL_MS - (Date.now() - started)));
		}
	};
	// Settled into a value so a failing probe cannot become an unhandled rejection mid-load.
	const polled = poll().then(
		() => null,
		(error: unknown) => error,
	);

	const load = await runPacedLoad({
		url: relay.url,
		headers: relay.headers,
		ratePerSecond: rate,
		durationSeconds: ctx.config.durationSeconds,
		next: payloadGenerator(ctx.templates, { batchSize: 1, repeatRatio: 0, seed: 99 }),
		onAck: (ack: Ack) => {
			for (const event of ack.events) pending.set(event.eventId, ack.at);
		},
	});
	loading = false;
	const pollError = await polled;
	if (pollError !== null) throw pollError;

	const deadline = Date.now() + ctx.config.drainTimeoutSeconds * 1000;
	while ((await ctx.sink.counts()).relay.unique < load.events && Date.now() < deadline) await sleep(100);
	const sinkLagMs = sinkLags(relay, load, await ctx.sink.arrivals("relay"));
	return { rate, events: load.events, d1LagMs, sinkLagMs, missingInD1: pending.size };
}
