import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signingSecrets } from "../../../scripts/lib/dev-vars.ts";
import { TEST_ENV } from "../../setup/test-env.ts";
import { relayPorts } from "../support/ports.ts";
import { type RecordingSink, startRecordingSink } from "../support/recording-sink.ts";
import { type RelayProcess, startRelay } from "../support/relay-process.ts";
import { type OutageGate, startOutageGate } from "./support/outage-gate.ts";
import {
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
/** How long the downstream stays down at the least, once every event has been refused. */
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

describe("the downstream answers 503 for a while, then recovers", () => {
	const plan = planTraffic(EVENTS, SEED);
	const expectedIds = new Set(plan.map((event) => event.eventId));

	it("delivers every event once after the outage, retrying on the configured schedule", async () => {
		const answers = await mapLimit(plan, 8, (event) => postCallback(relay, [event.element]));
		expect(answers.filter((answer) => answer.status !== 200 || answer.counts?.stored !== 1)).toEqual([]);

		const started = Date.now();
		const refused = () => new Set(gate.attempts.filter((a) => a.status === 503).map((a) => a.webhookId));
		await waitUntil(
			() => refused().size === EVENTS && Date.now() - started >= MIN_OUTAGE_MS,
			60_000,
			() => `${refused().size} of ${EVENTS} events refused by the downstream\n${relay.recentOutput()}`,
		);
		const retriedDuringOutage = gate.attempts.filter((a) => a.status === 503).length - EVENTS;
		gate.recover();

		await sink.waitForEvents(EVENTS, 60_000);
		await sleep(SETTLE_MS);
		expect(new Set(sink.verifiedIds())).toEqual(expectedIds);
		expect(deliveredTwice(sink.deliveries.map((delivery) => delivery.webhookId))).toEqual({});
		expect(sink.deliveries.filter((delivery) => !delivery.verified)).toEqual([]);
		expect(retriedDuringOutage, "503s beyond each event's first attempt").toBeGreaterThan(0);

		// A retry waits its delay (1 s ± 20 % at least), it does not hammer a downstream that is down.
		const tooSoon: string[] = [];
		for (const id of expectedIds) {
			const times = gate.attempts.filter((a) => a.webhookId === id).map((a) => a.at);
			for (let i = 1; i < times.length; i++) {
				const gap = (times[i] as number) - (times[i - 1] as number);
				if (gap < 700) tooSoon.push(`${id}: attempt ${i + 1} came ${gap} ms after attempt ${i}`);
			}
		}
		expect(tooSoon).toEqual([]);
	});

	it("records the failed attempts and one delivered attempt per event, nothing dead", async () => {
		await waitUntil(
			async () => (await adminListAll<Delivery>(relay, "/v1/deliveries?status=delivered")).length >= EVENTS,
			20_000,
			() => "delivered rows in D1 deliveries",
		);
		const delivered = await adminListAll<Delivery>(relay, "/v1/deliveries?status=delivered");
		expect(delivered.map((row) => row.eventId).sort()).toEqual([...expectedIds].sort());
		const failed = await adminListAll<Delivery>(relay, "/v1/deliveries?status=failed");
		const refusedAttempts = gate.attempts.filter((a) => a.status === 503).length;
		expect(failed.length, "one failed row per refused attempt").toBe(refusedAttempts);
		expect(failed.filter((row) => row.httpStatus !== 503)).toEqual([]);
		for (const row of delivered) {
			const attempts = gate.attempts.filter((a) => a.webhookId === row.eventId).length;
			expect(row.attempt, `${row.eventId}: the queue's attempt number of the delivery`).toBe(attempts);
		}
		expect(await adminListAll<Delivery>(relay, "/v1/deliveries?status=dead")).toEqual([]);
	});
});
