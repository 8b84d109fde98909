import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signingSecrets } from "../../../scripts/lib/dev-vars.ts";
import { TEST_ENV } from "../../setup/test-env.ts";
import { relayPorts } from "../support/ports.ts";
import { type RecordingSink, startRecordingSink } from "../support/recording-sink.ts";
import { type RelayProcess, startRelay } from "../support/relay-process.ts";
import { type OutageGate, startOutageGate } from "./support/outage-gate.ts";
import {
	adminGet,
	adminListAll,
	type Delivery,
	deliveredTwice,
	mapLimit,
	postCallback,
	sleep,
	waitUntil,
} from "./support/relay-api.ts";
import { planTraffic } from "./support/traffic.ts";

const EVENTS = 60;
const SEED = 503;
/** Seconds; the production schedule starts at 5 s and grows to hours. Configuration only, no code. */
const RETRY_SCHEDULE = "1,1,2,2,3,5,5";
/** How long the downstream stays down at the least. */
const MIN_OUTAGE_MS = 4000;
const SETTLE_MS = 2500;

let relay: RelayProcess;
let sink: RecordingSink;
let gate: OutageGate;

beforeAll(async () => {
	sink = await startRecordingSink(signingSecrets(TEST_ENV.FORWARD_SIGNING_SECRET));
	gate = await startOutageGate(sink.url);
	relay = await startRelay({
		...(await relayPorts("downstreamOutage")),
		vars: { FORWARD_URL: gate.url, FORWARD_RETRY_SCHEDULE: RETRY_SCHEDULE },
	});
});

afterAll(async () => {
	await relay?.stop();
	await gate?.close();
	await sink?.close();
});

type DestinationView = {
	name: string;
	breaker: string | null;
	backlog: number | null;
	consecutiveFailures: number | null;
};

async function defaultDestination(): Promise<DestinationView | undefined> {
	const { body } = await adminGet<{ items: DestinationView[] }>(relay, "/v1/destinations");
	return body.items.find((item) => item.name === "default");
}

describe("the downstream answers 503 for a while, then recovers", () => {
	const plan = planTraffic(EVENTS, SEED);
	const expectedIds = new Set(plan.map((event) => event.eventId));
	const attemptsOf = (id: string) => gate.attempts.filter((a) => a.webhookId === id);

	it("opens the breaker, holds the events without spending their attempts, probes, and delivers every event once", async () => {
		const answers = await mapLimit(plan, 8, (event) => postCallback(relay, [event.element]));
		expect(answers.filter((answer) => answer.status !== 200 || answer.counts?.stored !== 1)).toEqual([]);

		const started = Date.now();
		const refused = () => gate.attempts.filter((a) => a.status === 503).length;
		// 10 refusals in a row open the breaker (src/destinations/gate-policy.ts): the rest wait, unsent.
		await waitUntil(
			async () => (await defaultDestination())?.breaker === "open" && Date.now() - started >= MIN_OUTAGE_MS,
			60_000,
			() => `the breaker did not open; ${refused()} refusals\n${relay.recentOutput()}`,
		);
		expect(refused()).toBeGreaterThanOrEqual(10);
		gate.recover();

		// The first probe goes 30 s after the breaker opened; its success closes it and the backlog drains.
		await sink.waitForEvents(EVENTS, 100_000);
		await sleep(SETTLE_MS);
		expect(new Set(sink.verifiedIds())).toEqual(expectedIds);
		expect(deliveredTwice(sink.deliveries.map((delivery) => delivery.webhookId))).toEqual({});
		expect(sink.deliveries.filter((delivery) => !delivery.verified)).toEqual([]);

		// A retry waits its delay (1 s ± 20 % at least), it does not hammer a downstream that is down.
		const tooSoon: string[] = [];
		for (const id of expectedIds) {
			const times = attemptsOf(id).map((a) => a.at);
			for (let i = 1; i < times.length; i++) {
				const gap = (times[i] as number) - (times[i - 1] as number);
				if (gap < 700) tooSoon.push(`${id}: attempt ${i + 1} came ${gap} ms after attempt ${i}`);
			}
		}
		expect(tooSoon).toEqual([]);
		// While open, nothing but probes reached it: far fewer refusals than events × retries.
		expect(refused()).toBeLessThan(EVENTS * 3);
	}, 180_000);

	it("records each refusal and, for events refused, the delivery with its true attempt number; nothing dead", async () => {
		const refusedIds = [...expectedIds].filter((id) => attemptsOf(id).some((a) => a.status === 503));
		await waitUntil(
			async () => (await adminListAll<Delivery>(relay, "/v1/deliveries?status=delivered")).length >= refusedIds.length,
			20_000,
			() => "delivered rows in D1 deliveries",
		);
		// A first-try success is counted, not listed: only events refused before have a delivered row.
		const delivered = await adminListAll<Delivery>(relay, "/v1/deliveries?status=delivered");
		expect(delivered.map((row) => row.eventId).sort()).toEqual(refusedIds.sort());
		const failed = await adminListAll<Delivery>(relay, "/v1/deliveries?status=failed");
		expect(failed.length, "one failed row per refused attempt").toBe(
			gate.attempts.filter((a) => a.status === 503).length,
		);
		expect(failed.filter((row) => row.httpStatus !== 503)).toEqual([]);
		// Held by the breaker for tens of seconds, yet each delivery's attempt number is its POSTs: waiting is not an attempt.
		for (const row of delivered) {
			expect(row.attempt, `${row.eventId}: the attempt number of the delivery`).toBe(attemptsOf(row.eventId).length);
		}
		expect(await adminListAll<Delivery>(relay, "/v1/deliveries?status=dead")).toEqual([]);
		await waitUntil(
			async () => (await defaultDestination())?.backlog === 0,
			20_000,
			() => "the gate's backlog back to 0",
		);
		expect(await defaultDestination()).toMatchObject({ breaker: "closed", consecutiveFailures: 0 });
	});
});
