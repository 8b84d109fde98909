import { Webhook } from "standardwebhooks";
import { waitForIdle } from "./cpu.ts";
import { runLoad } from "./load.ts";
import { payloadGenerator } from "./payloads.ts";
import type { RunContext } from "./scenarios.ts";
import { sleep } from "./stats.ts";
import type { Target } from "./targets.ts";

/*
 * N events into the relay as fast as it takes them, then every one must reach the sink exactly
 * once under the webhook-id DESIGN §4 predicts, signed so that standardwebhooks verifies it.
 */

export interface EndToEndResult {
	events: number;
	acknowledged: number;
	stored: number;
	delivered: number;
	lost: number;
	forwardedTwice: number;
	unexpected: number;
	deliveredEventsPerSecond: number;
	secondsToLastDelivery: number;
	signaturesChecked: number;
	signaturesValid: number;
}

type Counts = { stored?: number };

export async function runEndToEnd(
	ctx: RunContext,
	relay: Target,
	events: number,
	signingSecret: string,
): Promise<EndToEndResult> {
	await waitForIdle(ctx.dev.workerdPids);
	await ctx.sink.reset();
	let stored = 0;
	const load = await runLoad({
		url: relay.url,
		headers: relay.headers,
		connections: ctx.config.connections,
		requests: events,
		next: payloadGenerator(ctx.templates, { batchSize: 1, repeatRatio: 0, seed: 7 }),
		onBody: (body) => {
			stored += (JSON.parse(body) as Counts).stored ?? 0;
		},
	});
	const expected = new Set(load.acks.flatMap((ack) => ack.events.map((event) => event.eventId)));

	const deadline = Date.now() + ctx.config.drainTimeoutSeconds * 1000;
	while ((await ctx.sink.counts()).relay.unique < expected.size && Date.now() < deadline) await sleep(100);
	await sleep(2000); // a late second copy would show up here
	const arrivals = await ctx.sink.arrivals("relay");

	let lost = 0;
	for (const id of expected) if (!arrivals.has(id)) lost += 1;
	let forwardedTwice = 0;
	let unexpected = 0;
	let lastArrival = 0;
	for (const [id, arrival] of arrivals) {
		if (arrival.count > 1) forwardedTwice += 1;
		if (!expected.has(id)) unexpected += 1;
		lastArrival = Math.max(lastArrival, arrival.first);
	}

	const webhook = new Webhook(signingSecret);
	const samples = await ctx.sink.samples();
	const signaturesValid = samples.filter((sample) => {
		try {
			webhook.verify(sample.body, sample.headers);
			return true;
		} catch {
			return false;
		}
	}).length;

	const seconds = (lastArrival - load.startedAt) / 1000;
	return {
		events,
		acknowledged: load.ok,
		stored,
		delivered: arrivals.size - unexpected,
		lost,
		forwardedTwice,
		unexpected,
		deliveredEventsPerSecond: (arrivals.size - unexpected) / seconds,
		secondsToLastDelivery: seconds,
		signaturesChecked: samples.length,
		signaturesValid,
	};
}
