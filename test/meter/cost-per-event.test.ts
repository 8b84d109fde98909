import { env } from "cloudflare:workers";
import { expect, it, vi } from "vitest";
import { CHECK_SLACK_MS, HANDOFF_GRACE_MS } from "../../src/ledger/handoffs";
import { ledgerFor, ledgerNameOf } from "../../src/ledger/ledger-client";
import { type MeterCounts, meter } from "../../src/meter/meter";
import { meteredEnv } from "../../src/meter/metered-env";
import { flushCallbacks } from "../../src/metrics/record-metrics";
import { adminFetch } from "../helpers/admin";
import { postCallback } from "../helpers/callback";
import { gateOf } from "../helpers/destinations";
import { receivedAt } from "../helpers/downstream";
import { element, newMessageId } from "../helpers/fixtures";
import { BACKGROUND_WAIT_MS } from "../helpers/wait";
import type { RecordedRequest } from "../support/downstream-types";

/**
 * What one Bandwidth callback of one new event costs on the common path (a new message whose
 * ledger is already running, as every ledger is under steady traffic; stored, forwarded and
 * delivered on the first try), in billable units. A change that adds a row written,
 * a request or a queue operation per event changes one of these numbers: update them only on
 * purpose, and say why in the commit.
 *
 * d1BytesStored and doBytesStored are left out: D1 and a ledger grow by whole pages, so one event
 * adds 0 or 4,096 bytes depending on what ran before (the bench measures them over thousands, and
 * test/ledger/row-size.test.ts a ledger's bytes per event).
 */
const COMMON_PATH_PER_EVENT: Omit<MeterCounts, "d1BytesStored" | "doBytesStored"> = {
	workerRequests: 2, // the callback, the consumer's batch
	// The ledger's accept. No report follows: both copies were made, and the ledger finds the row in
	// D1 after the grace, one check per bucket for a minute of events (pinned below). The
	// destination gate is not asked (src/destinations/gate-client.ts).
	doRequests: 1,
	doRowsWritten: 1, // the event in its day table; no copy state written
	doRowsRead: 0,
	// The event in its day table (no secondary index), and its consumer batch's first-try row
	// (attempts_YYYYMMDD, src/db/attempts.repository.ts): one per batch, so 1/24 per event at a full
	// batch of 24 (this batch holds one event). It replaced the batch's first-try counter upsert
	// (delivery_counts), one per batch too: recording every first try, readable by event, added no
	// row per event. Retention drops both days whole later (DROP TABLE: 0 rows); the byte budget, if
	// it comes first, deletes the event (1 row).
	d1RowsWritten: 2,
	// The first-try row's key: the minute's next row number, found by reading the end of its key
	// range in the same statement ($0.001 per million rows read: a random key would save it and
	// could collide): 3. The consumer's look for tombstones of its batch's messages, so that a
	// forward queued before an erasure is not delivered after it (src/forward/erased-messages.ts):
	// 2 for this batch of one event (its message id from json_each, the probe of erased_messages'
	// key; the rows read grow with the batch's messages, the statements do not).
	d1RowsRead: 5,
	d1Writes: 2, // the handoff's batch, the consumer's first-try row: two transactions on D1's single writer
	queueOps: 3, // write, read, delete of one job under 64 KB
	queueMessages: 1,
	r2ClassA: 0,
	r2ClassB: 0,
	r2BytesWritten: 0,
	logLines: 0, // invocation logs are off (wrangler.toml) and the common path writes no line
	// The consumer's batch (here of this one event; up to 24 share it). The callback's counts join
	// its isolate's window (src/metrics/callback-window.ts), written as one point per kind of
	// callback (application, type, error code) every 30 s or 1,000 callbacks: not one per callback
	// any more, as Bandwidth's one-event callbacks made it a point per event (pinned below).
	aeDataPoints: 1,
	eventsAccepted: 1,
};

function forwardOf(messageId: string): (request: RecordedRequest) => boolean {
	// The downstream is shared by every test file, and some keep no body (recordBody: false).
	return (request) => request.body.includes(`"subject":${JSON.stringify(messageId)}`);
}

/**
 * The counts once everything the event set off has run: the forward arrived downstream, and then
 * the meter stopped moving (the consumer's delete, the Worker's D1 write after the 200).
 */
async function settledCounts(messageId: string): Promise<MeterCounts> {
	await vi.waitUntil(async () => (await receivedAt()).some(forwardOf(messageId)), {
		timeout: BACKGROUND_WAIT_MS,
		interval: 20,
	});
	let last = JSON.stringify(meter.snapshot());
	let quietPolls = 0;
	return vi.waitUntil(
		() => {
			const now = meter.snapshot();
			const serialized = JSON.stringify(now);
			quietPolls = serialized === last ? quietPolls + 1 : 0;
			last = serialized;
			return quietPolls >= 5 ? now : undefined;
		},
		{ timeout: BACKGROUND_WAIT_MS, interval: 50 },
	);
}

async function postAndSettle(event: ReturnType<typeof element>): Promise<MeterCounts> {
	const response = await postCallback([event]);
	expect(await response.json()).toEqual({ received: 1, stored: 1, duplicates: 0, quarantined: 0 });
	return settledCounts(event.message.id);
}

/** A new message kept by the same ledger as `messageId`: its first event finds the ledger warm. */
function sameLedgerAs(messageId: string): string {
	for (;;) {
		const candidate = newMessageId();
		if (ledgerNameOf(env, candidate) === ledgerNameOf(env, messageId)) return candidate;
	}
}

it("pins the billable units of one event on the common path", async () => {
	const warmUp = element("spec2026__message-sending.object.json");
	await postAndSettle(warmUp);

	const event = element("spec2026__message-delivered_sms.object.json", { messageId: sameLedgerAs(warmUp.message.id) });
	// The warm-up's callback is in the window: written now, before the measure.
	flushCallbacks(meteredEnv(env), Date.now(), true);
	const before = meter.snapshot();
	const after = await postAndSettle(event);

	const {
		d1BytesStored: _d1,
		doBytesStored: _do,
		...spent
	} = Object.fromEntries(
		Object.entries(after).map(([unit, count]) => [unit, count - before[unit as keyof MeterCounts]]),
	) as MeterCounts;
	expect(spent).toEqual(COMMON_PATH_PER_EVENT);
});

it("writes one Analytics Engine point for a window of like callbacks, not one per callback", async () => {
	await postAndSettle(element("spec2026__message-sending.object.json"));
	flushCallbacks(meteredEnv(env), Date.now(), true);
	const elements = Array.from({ length: 5 }, () => element("spec2026__message-delivered_sms.object.json"));
	for (const event of elements) await postAndSettle(event);
	const before = meter.snapshot();
	flushCallbacks(meteredEnv(env), Date.now(), true);
	// Five one-event callbacks of one application and type: one point (double6 = 5).
	expect(meter.snapshot().aeDataPoints - before.aeDataPoints).toBe(1);
});

it("files a consumer batch's first tries in one D1 row, whatever the batch's size", async () => {
	// Warm: the day's first-try table exists, as it does after a day's first batch.
	await postAndSettle(element("spec2026__message-sending.object.json"));
	const before = meter.snapshot();
	const elements = Array.from({ length: 24 }, () => element("spec2026__message-delivered_sms.object.json"));
	const response = await postCallback(elements);
	expect(await response.json()).toMatchObject({ stored: 24 });
	// Received together, so their first tries share a minute: one row per consumer batch.
	for (const event of elements) await settledCounts(event.message.id);
	const after = meter.snapshot();
	const spent = (unit: keyof MeterCounts) => after[unit] - before[unit];
	const consumerBatches = spent("workerRequests") - 1;
	expect(consumerBatches).toBeGreaterThanOrEqual(1);
	expect(spent("eventsAccepted")).toBe(24);
	// Each event in its day table, and a first-try row per consumer batch.
	expect(spent("d1RowsWritten")).toBe(24 + consumerBatches);
});

it("costs a paused event one more queue round trip, whatever the pause's length, and delivers it once resumed", async () => {
	await postAndSettle(element("spec2026__message-sending.object.json"));
	const before = meter.snapshot();
	expect((await adminFetch("/v1/destinations/default/pause", { method: "POST" })).status).toBe(200);
	const elements = Array.from({ length: 24 }, () => element("spec2026__message-delivered_sms.object.json"));
	expect((await postCallback(elements)).status).toBe(200);
	await vi.waitUntil(async () => (await gateOf("default").status()).backlog === 24, {
		timeout: BACKGROUND_WAIT_MS,
		interval: 50,
	});
	const parked = meter.snapshot();
	// Parked, nothing moves: the pause costs nothing while it lasts (its gate looks every 10 minutes).
	await new Promise((resolve) => setTimeout(resolve, 1500));
	expect(meter.snapshot().queueOps).toBe(parked.queueOps);
	expect((await adminFetch("/v1/destinations/default/resume", { method: "POST" })).status).toBe(200);
	for (const event of elements) await settledCounts(event.message.id);
	const after = meter.snapshot();
	const spent = (unit: keyof MeterCounts) => after[unit] - before[unit];
	// The common path's three operations, and the release's write, read and delete.
	expect(spent("queueOps")).toBe(24 * (COMMON_PATH_PER_EVENT.queueOps + 3));
	// The events, and their first tries: parked events still succeed on their first attempt.
	expect(spent("d1RowsWritten")).toBeLessThanOrEqual(24 * COMMON_PATH_PER_EVENT.d1RowsWritten);
	expect(await gateOf("default").status()).toMatchObject({ backlog: 0, paused: false });
});

/**
 * The ledger's check of its handoffs in D1 after the grace, which replaced the per-event report: one
 * request a bucket pays about once a minute (its alarm, or the cron's visit, which it makes anyway),
 * and one lookup per event in D1 — rows read (its key, and the row found), at a thousandth of a row
 * written. The watermark a new instance reads from costs a row at most every 10 minutes per bucket,
 * not here: the run before this one wrote it.
 */
const CHECK_PER_RUN = { doRequests: 1, doRowsWritten: 0, d1RowsWritten: 0, queueOps: 0 };
const CHECK_D1_ROWS_READ_PER_EVENT = 2;

it("pins what the ledger's check of its handoffs in D1 costs", async () => {
	const warmUp = element("spec2026__message-sending.object.json");
	await postAndSettle(warmUp);
	const stub = ledgerFor(env, warmUp.message.id);
	const later = () => Date.now() + HANDOFF_GRACE_MS + CHECK_SLACK_MS + 1000;
	// Checks what is outstanding, archives what is due, writes the watermark.
	let previous = await stub.maintain(later());
	for (let attempt = 0; ; attempt += 1) {
		const events = [0, 1, 2].map(() =>
			element("spec2026__message-delivered_sms.object.json", { messageId: sameLedgerAs(warmUp.message.id) }),
		);
		for (const event of events) await postAndSettle(event);
		const before = meter.snapshot();
		const report = await stub.maintain(later());
		const after = meter.snapshot();
		// An hour closed between the two visits: this one archived it too. Measure again.
		if (report.archivedThrough !== previous.archivedThrough && attempt === 0) {
			previous = report;
			continue;
		}
		expect(report.reclaimed).toBe(0);
		const spent = (unit: keyof MeterCounts) => after[unit] - before[unit];
		expect({
			doRequests: spent("doRequests"),
			doRowsWritten: spent("doRowsWritten"),
			d1RowsWritten: spent("d1RowsWritten"),
			queueOps: spent("queueOps"),
		}).toEqual(CHECK_PER_RUN);
		expect(spent("d1RowsRead")).toBe(events.length * CHECK_D1_ROWS_READ_PER_EVENT);
		return;
	}
});
