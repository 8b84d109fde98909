import type { MeterCounts } from "../src/meter/meter.ts";
import { costOf } from "./cost.ts";
import { waitForIdle } from "./cpu.ts";
import { runLoad } from "./load.ts";
import { readMeter, resetMeter } from "./meter-client.ts";
import { payloadGenerator, type Template } from "./payloads.ts";
import type { RunContext } from "./scenarios.ts";
import { FAN_OUT_APPLICATION } from "./setup.ts";
import type { SinkPath } from "./sink.ts";
import { sleep } from "./stats.ts";
import type { Target } from "./targets.ts";

/*
 * Fan-out (issue 11): the same number of events, first to one destination (FORWARD_URL, the
 * fixtures' own application), then to three (an application that two more destinations also
 * take; setup.ts), in the same relay. Each phase is metered from its first send until its last
 * delivery, so the cost per event includes every delivery it set off.
 */

export interface FanOutPhase {
	destinations: number;
	events: number;
	deliveries: number;
	lost: number;
	forwardedTwice: number;
	/** Events whose deliveries all arrived, per second from the first send to the last arrival. */
	deliveredEventsPerSecond: number;
	deliveriesPerSecond: number;
	usdPerMillionEvents: number | null;
	perEvent: Partial<MeterCounts> | null;
}

export interface FanOutResult {
	single: FanOutPhase;
	fanOut: FanOutPhase;
	/** fan-out ÷ single. */
	costRatio: number | null;
	deliveredEventsPerSecondRatio: number;
}

const APPLICATION_ID = /"applicationId":"[^"]*"/;

/** The templates that carry an application id, once as they are and once for the fan-out application. */
function templatesFor(templates: readonly Template[]): { own: Template[]; fanned: Template[] } {
	const own = templates.filter((t) => APPLICATION_ID.test(t.before) || APPLICATION_ID.test(t.after));
	const swap = (text: string) => text.replace(APPLICATION_ID, `"applicationId":"${FAN_OUT_APPLICATION}"`);
	return { own, fanned: own.map((t) => ({ ...t, before: swap(t.before), after: swap(t.after) })) };
}

async function phase(
	ctx: RunContext,
	relay: Target,
	templates: readonly Template[],
	paths: readonly SinkPath[],
	events: number,
): Promise<FanOutPhase> {
	await waitForIdle(ctx.dev.workerdPids);
	await ctx.sink.reset();
	await resetMeter(relay);
	const load = await runLoad({
		url: relay.url,
		headers: relay.headers,
		connections: ctx.config.connections,
		requests: events,
		next: payloadGenerator(templates, { batchSize: 1, repeatRatio: 0, seed: 11 }),
	});
	const expected = new Set(load.acks.flatMap((ack) => ack.events.map((event) => event.eventId)));
	const deadline = Date.now() + ctx.config.drainTimeoutSeconds * 1000;
	const arrived = async () => {
		const counts = await ctx.sink.counts();
		return paths.every((path) => counts[path].unique >= expected.size);
	};
	while (!(await arrived()) && Date.now() < deadline) await sleep(100);
	await sleep(2000); // a late second copy, and the consumer's last acks, land here
	const meter = await readMeter(relay);

	let lost = 0;
	let forwardedTwice = 0;
	let deliveries = 0;
	let lastArrival = 0;
	const complete = new Set(expected);
	for (const path of paths) {
		const arrivals = await ctx.sink.arrivals(path);
		for (const id of expected) {
			if (arrivals.has(id)) continue;
			lost += 1;
			complete.delete(id);
		}
		for (const arrival of arrivals.values()) {
			deliveries += 1;
			if (arrival.count > 1) forwardedTwice += 1;
			lastArrival = Math.max(lastArrival, arrival.first);
		}
	}
	const seconds = (lastArrival - load.startedAt) / 1000;
	const cost = meter === null ? null : costOf([{ eventsSent: load.eventsSent, meter: meter.counts }]);
	return {
		destinations: paths.length,
		events: expected.size,
		deliveries,
		lost,
		forwardedTwice,
		deliveredEventsPerSecond: complete.size / seconds,
		deliveriesPerSecond: deliveries / seconds,
		usdPerMillionEvents: cost?.usdPerMillionEvents ?? null,
		perEvent: cost?.perEvent ?? null,
	};
}

export async function runFanOut(
	ctx: RunContext,
	relay: Target,
	templates: readonly Template[],
	events: number,
): Promise<FanOutResult> {
	const { own, fanned } = templatesFor(templates);
	if (own.length === 0) throw new Error("no fixture element carries an applicationId");
	const single = await phase(ctx, relay, own, ["relay"], events);
	const fanOut = await phase(ctx, relay, fanned, ["relay", "fan-b", "fan-c"], events);
	return {
		single,
		fanOut,
		costRatio:
			single.usdPerMillionEvents === null || fanOut.usdPerMillionEvents === null
				? null
				: fanOut.usdPerMillionEvents / single.usdPerMillionEvents,
		deliveredEventsPerSecondRatio: fanOut.deliveredEventsPerSecond / single.deliveredEventsPerSecond,
	};
}
