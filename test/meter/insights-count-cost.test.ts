import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { readInsightMarks, recordInsights } from "../../src/insights/record-insights";
import { maintainLedgers } from "../../src/maintenance/maintain-ledgers";
import { type MeterCounts, meter } from "../../src/meter/meter";
import { meteredEnv } from "../../src/meter/metered-env";
import { postCallback } from "../helpers/callback";
import { type Element, messageIdAt, seeded, statusElement } from "../insights/support/traffic";

/**
 * What the insights cost: nothing per event on the accept path (test/meter/cost-per-event.test.ts
 * pins it unchanged), and per minute, one count for every ledger at once. Here a minute's worth of
 * 1,000 events (400 outbound messages: a send and a receipt each, 1 in 5 failed with one of three
 * codes; 200 inbound), from 5 numbers of one application, spread by their ids over the 64 ledger
 * buckets, is counted once, and the units the count added to a plain maintenance visit are metered.
 */

const EVENTS = 1000;
/** D1 rows the count may write per event: $0.10 per million events at $1.00 per million rows. */
const MAX_D1_ROWS_PER_EVENT = 0.1;

function minuteOfTraffic(): Element[] {
	const random = seeded(1000);
	const applicationId = crypto.randomUUID();
	const numbers = Array.from({ length: 5 }, (_, i) => `+1919555${String(7000 + i)}`);
	const elements: Element[] = [];
	const now = Date.now();
	for (let i = 0; elements.length < EVENTS - 200; i++) {
		const time = now - random.int(5, 55) * 1000;
		const recipient = `+1646555${String(3000 + i)}`;
		const shape = {
			id: messageIdAt(time),
			applicationId,
			from: random.pick(numbers),
			to: [recipient],
			time,
			media: false,
		};
		elements.push(statusElement(shape, "message-sending", recipient, time + 500));
		elements.push(
			random.chance(0.2)
				? statusElement(shape, "message-failed", recipient, time + 4000, random.pick([4470, 4720, 4775]))
				: statusElement(shape, "message-delivered", recipient, time + 4000),
		);
	}
	while (elements.length < EVENTS) {
		const time = now - random.int(5, 55) * 1000;
		const id = messageIdAt(time);
		const owner = random.pick(numbers);
		elements.push({
			type: "message-received",
			time: new Date(time).toISOString(),
			to: owner,
			description: "Incoming message received",
			message: {
				id,
				owner,
				applicationId,
				time: new Date(time).toISOString(),
				segmentCount: 1,
				direction: "in",
				to: [owner],
				from: "+14155550000",
				text: "hi",
			},
		});
	}
	return elements;
}

function spent(before: MeterCounts, after: MeterCounts): MeterCounts {
	return Object.fromEntries(
		Object.entries(after).map(([unit, n]) => [unit, n - before[unit as keyof MeterCounts]]),
	) as MeterCounts;
}

it("counts a minute of 1,000 events over 64 ledgers in one D1 batch, at most 0.1 D1 rows and no ledger row per event", async () => {
	const elements = minuteOfTraffic();
	for (let start = 0; start < elements.length; start += 50) {
		const response = await postCallback(elements.slice(start, start + 50));
		expect(response.status).toBe(200);
	}
	const now = Date.now();
	// The cron's D1 calls are metered like the Worker's.
	const db = meteredEnv(env).DB;
	// Plain visits (no marks: nothing handed out), the first to settle what the new rows set off;
	// then the count. The difference from the second plain visit is the count's.
	await maintainLedgers(env, now);
	let before = meter.snapshot();
	await maintainLedgers(env, now);
	const plain = spent(before, meter.snapshot());
	before = meter.snapshot();
	const marks = await readInsightMarks(db);
	const { reports } = await maintainLedgers(env, now, marks);
	const recorded = await recordInsights(db, marks, reports, now);
	const counted = spent(before, meter.snapshot());
	expect(recorded.written).toBe(true);

	const d1RowsPerEvent = counted.d1RowsWritten / EVENTS;
	console.log(
		`insights count of ${EVENTS} events over 64 ledgers: ${counted.d1RowsWritten} D1 rows written (${d1RowsPerEvent} per event, ${recorded.keys} keys), ${counted.d1RowsRead} D1 rows read, ledger rows written ${counted.doRowsWritten - plain.doRowsWritten} more than a plain visit`,
	);
	expect(counted.doRowsWritten).toBe(plain.doRowsWritten);
	expect(counted.doRequests).toBe(plain.doRequests);
	expect(d1RowsPerEvent).toBeLessThanOrEqual(MAX_D1_ROWS_PER_EVENT);
	expect(d1RowsPerEvent).toBeGreaterThan(0);
});
