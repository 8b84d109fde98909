import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordingSink } from "../support/recording-sink.ts";
import type { RelayProcess } from "../support/relay-process.ts";
import { startRelayAndSink, stopRelayAndSink } from "./support/relay-and-sink.ts";
import { adminListAll, type Delivery, deliveredTwice, mapLimit, postCallback, sleep } from "./support/relay-api.ts";
import { planTraffic } from "./support/traffic.ts";

const EVENTS = 1000;
const PER_SECOND = 50;
/** Bandwidth's own batches are small; 100 a callback makes the burst arrive all at once. */
const BATCH = 100;
const SEED = 2000;
const SETTLE_MS = 2500;

let relay: RelayProcess;
let sink: RecordingSink;

beforeAll(async () => {
	({ relay, sink } = await startRelayAndSink("rateLimitBurst", (sinkUrl) => ({
		vars: {
			FORWARD_URL: "",
			DESTINATIONS: JSON.stringify([{ name: "limited", url: sinkUrl, maxPerSecond: PER_SECOND }]),
		},
	})));
});

afterAll(() => stopRelayAndSink({ relay, sink }));

describe(`a burst of ${EVENTS} events to a destination limited to ${PER_SECOND}/s`, () => {
	const plan = planTraffic(EVENTS, SEED);
	const expectedIds = new Set(plan.map((event) => event.eventId));

	it("reaches the sink no faster than the limit, every event once, none of them failed or dead", async () => {
		const batches = Array.from({ length: Math.ceil(plan.length / BATCH) }, (_, i) =>
			plan.slice(i * BATCH, (i + 1) * BATCH).map((event) => event.element),
		);
		const answers = await mapLimit(batches, 4, (batch) => postCallback(relay, batch));
		expect(answers.filter((answer) => answer.status !== 200)).toEqual([]);

		await sink.waitForEvents(EVENTS, 150_000);
		await sleep(SETTLE_MS);
		expect(sink.verifiedIds()).toEqual(expectedIds);
		expect(deliveredTwice(sink.deliveries.map((delivery) => delivery.webhookId))).toEqual({});

		// Measured at the sink: in any window, at most the limit's share of it, give or take jitter.
		const times = [...sink.arrivals].sort((a, b) => a - b);
		const busiest = (windowMs: number) => {
			let most = 0;
			for (let start = 0, end = 0; start < times.length; start++) {
				while (end < times.length && (times[end] as number) < (times[start] as number) + windowMs) end++;
				most = Math.max(most, end - start);
			}
			return most;
		};
		// Each POST starts no earlier than its gate slot, and a consumer's overdue POSTs go one interval
		// apart (src/forward/gate-batch.ts waitForTurn). Local wrangler dev runs one consumer isolate,
		// so this measures both together; the gate's spacing alone is checked slot by slot in
		// test/destinations/pause-and-rate.test.ts. Measured on a quiet machine: 49 in the busiest
		// second, 477 in the busiest ten. Arrival times are read by this process while it also runs
		// the test traffic: a 200 ms stall bunches that much of the stream into any window, whatever
		// its length, so the slack is the same count for each.
		const slack = PER_SECOND * 0.2;
		for (const seconds of [1, 2, 5, 10]) {
			expect(busiest(seconds * 1000), `the busiest ${seconds} s`).toBeLessThanOrEqual(PER_SECOND * seconds + slack);
		}
		const seconds = ((times.at(-1) as number) - (times[0] as number)) / 1000;
		expect(seconds).toBeGreaterThanOrEqual((EVENTS - 1) / PER_SECOND - 1);

		// Waiting for the limit is not an attempt: nothing was recorded as failed, nothing went dead.
		expect(await adminListAll<Delivery>(relay, "/v1/deliveries?status=failed")).toEqual([]);
		expect(await adminListAll<Delivery>(relay, "/v1/deliveries?status=dead")).toEqual([]);
	}, 240_000);
});
