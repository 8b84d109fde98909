import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordingSink } from "../support/recording-sink.ts";
import type { RelayProcess } from "../support/relay-process.ts";
import { startRelayAndSink, stopRelayAndSink } from "./support/relay-and-sink.ts";
import {
	adminGet,
	adminListAll,
	deliveredTwice,
	type MessageView,
	mapLimit,
	postCallback,
	type StoredEvent,
	sleep,
} from "./support/relay-api.ts";
import { type PlannedEvent, planTraffic } from "./support/traffic.ts";

const EVENTS = 500;
const COPIES = 3;
/** Posts in flight at once: enough to race every copy of an event, few enough for a 2-core runner. */
const CONCURRENCY = 24;
const SEED = 500;
/** Ten times the queue's batch timeout (0.25 s), so a second delivery would have arrived. */
const SETTLE_MS = 2500;

let relay: RelayProcess;
let sink: RecordingSink;

beforeAll(async () => {
	({ relay, sink } = await startRelayAndSink("concurrentDuplicates", (sinkUrl) => ({
		vars: { FORWARD_URL: sinkUrl },
	})));
});

afterAll(() => stopRelayAndSink({ relay, sink }));

function groupByMessage(plan: readonly PlannedEvent[]): Map<string, PlannedEvent[]> {
	const groups = new Map<string, PlannedEvent[]>();
	for (const event of plan) groups.set(event.messageId, [...(groups.get(event.messageId) ?? []), event]);
	return groups;
}

describe(`${EVENTS} events, each posted ${COPIES}× concurrently`, () => {
	const plan = planTraffic(EVENTS, SEED);
	const expectedIds = new Set(plan.map((event) => event.eventId));

	it("plans distinct, realistic events", () => {
		expect(expectedIds.size).toBe(EVENTS);
		const labels = new Set(plan.map((event) => event.label.replace(/ → .*/, "")));
		for (const kind of ["inbound SMS", "inbound group MMS", "SMS", "MMS", "group MMS"]) {
			expect([...labels].some((label) => label.startsWith(`${kind} `))).toBe(true);
		}
		expect(plan.some((event) => event.element.type === "message-failed")).toBe(true);
	});

	it("accepts every event once, stores it once in D1 and delivers it once", async () => {
		const posts = plan.flatMap((event) => Array.from({ length: COPIES }, () => event));
		const answers = await mapLimit(posts, CONCURRENCY, async (event) => ({
			event,
			answer: await postCallback(relay, [event.element]),
		}));

		const failed = answers.filter(({ answer }) => answer.status !== 200);
		expect(
			failed.map(({ event, answer }) => `${event.label} ${event.eventId}: ${answer.status} ${answer.text}`),
			relay.recentOutput(),
		).toEqual([]);
		const totals = { received: 0, stored: 0, duplicates: 0, quarantined: 0 };
		const storedPerEvent = new Map<string, number>();
		for (const { event, answer } of answers) {
			const counts = answer.counts ?? totals;
			totals.received += counts.received;
			totals.stored += counts.stored;
			totals.duplicates += counts.duplicates;
			totals.quarantined += counts.quarantined;
			storedPerEvent.set(event.eventId, (storedPerEvent.get(event.eventId) ?? 0) + counts.stored);
		}
		expect(totals).toEqual({ received: EVENTS * COPIES, stored: EVENTS, duplicates: EVENTS * 2, quarantined: 0 });
		const notOnce = [...storedPerEvent].filter(([, stored]) => stored !== 1);
		expect(notOnce, "events whose copies were stored other than once").toEqual([]);

		await sink.waitForEvents(EVENTS, 120_000).catch((error: Error) => {
			const missing = [...expectedIds].filter((id) => !sink.verifiedIds().has(id));
			throw new Error(`${error.message}; missing ${missing.slice(0, 5)}\n--- relay ---\n${relay.recentOutput()}`);
		});
		await sleep(SETTLE_MS);
		expect(deliveredTwice(sink.deliveries.map((delivery) => delivery.webhookId))).toEqual({});
		expect(sink.deliveries.filter((delivery) => !delivery.verified)).toEqual([]);
		expect(new Set(sink.verifiedIds())).toEqual(expectedIds);

		const stored = await adminListAll<StoredEvent>(relay, "/v1/events");
		expect(stored.length, "rows in D1 events").toBe(EVENTS);
		expect(new Set(stored.map((event) => event.id))).toEqual(expectedIds);
	}, 240_000);

	it("keeps each message's events in one sequence, each delivered first try (one attempt listed per event)", async () => {
		const messages = [...groupByMessage(plan)];
		const problems = (
			await mapLimit(messages, 8, async ([messageId, events]) => {
				const { status, body } = await adminGet<MessageView>(relay, `/v1/messages/${encodeURIComponent(messageId)}`);
				if (status !== 200) return [`${messageId}: GET /v1/messages answered ${status}`];
				const found: string[] = [];
				const ids = body.events.map((event) => event.id).sort();
				const planned = events.map((event) => event.eventId).sort();
				if (JSON.stringify(ids) !== JSON.stringify(planned)) found.push(`events ${ids} ≠ planned ${planned}`);
				const sequences = body.events.map((event) => event.data.sequence);
				const expected = events.map((_, index) => index + 1);
				if (JSON.stringify(sequences) !== JSON.stringify(expected)) found.push(`sequences ${sequences}`);
				// The sink saw each event once (above); the message view lists that one first-try success per event.
				const attempts = body.deliveries
					.map((delivery) => `${delivery.eventId} ${delivery.destination} ${delivery.attempt} ${delivery.outcome}`)
					.sort();
				const once = events.map((event) => `${event.eventId} default 1 delivered`).sort();
				if (JSON.stringify(attempts) !== JSON.stringify(once))
					found.push(`deliveries ${JSON.stringify(body.deliveries)}`);
				return found.map((problem) => `${messageId}: ${problem}`);
			})
		).flat();
		expect(problems).toEqual([]);
	});
});
