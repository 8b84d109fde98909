import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createEventTable, dayTableOf, eventTableOf } from "../../src/db/event-tables";
import { eraseMessage } from "../../src/erase/erase-message";
import { prepareElement } from "../../src/ingest/prepare-element";
import { sendToQueue, storeInD1 } from "../../src/ledger/copy-out";
import { drainHandoffs } from "../../src/ledger/drain-handoffs";
import { CHECK_SLACK_MS, HANDOFF_GRACE_MS, VERIFIED_STEP_MS, VERIFIED_THROUGH } from "../../src/ledger/handoffs";
import { MessageLedger } from "../../src/ledger/message-ledger.do";
import { COPIED, type LedgerEntry } from "../../src/ledger/store/ledger-rows";
import { receivedAt, waitForForwarded } from "../helpers/downstream";
import { element, newMessageId } from "../helpers/fixtures";
import { ledgerStub, pendingInLedger } from "../helpers/ledger";
import { eventsOf, waitForEvents, withEventTablesBroken } from "../helpers/storage";

/*
 * The Worker reports a handoff only when a copy failed; the ledger accounts for the rest by
 * looking for the rows in D1 after the grace (src/ledger/handoffs.ts). These tests play the
 * Worker's part by hand, dying where they say, with the real queue, D1 and ledger.
 */

async function entryFor(name: string, overrides: Parameters<typeof element>[1] = {}): Promise<LedgerEntry> {
	const prepared = await prepareElement(element(name, overrides), new Date().toISOString());
	if (prepared.kind !== "event") throw new Error(prepared.row.reason);
	return prepared.entry;
}

async function forwardedCount(eventId: string): Promise<number> {
	return (await receivedAt()).filter((request) => request.headers["webhook-id"] === eventId).length;
}

/** Long enough for a copy the queue was given to have reached the downstream, if it was going to. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

/** A maintenance visit after the grace of everything accepted so far. */
const afterGrace = () => Date.now() + HANDOFF_GRACE_MS + CHECK_SLACK_MS + 1000;

/** The row's copy state as its day table holds it: a report writes it, a check in D1 does not. */
function stateOf(entry: LedgerEntry, partition: string): Promise<number> {
	return runInDurableObject(
		ledgerStub(entry.message_id),
		(_instance: MessageLedger, state) =>
			state.storage.sql
				.exec<{ state: number }>(
					`SELECT state FROM ${partition} WHERE message_id = ? AND id = ?`,
					entry.message_id,
					entry.id,
				)
				.one().state,
	);
}

describe("a handoff both copies of which were made", () => {
	it("is not reported: its ledger finds the row in D1 after the grace, and writes nothing for it", async () => {
		const entry = await entryFor("spec2026__message-delivered_sms.object.json");
		const stub = ledgerStub(entry.message_id);
		const { handoff } = await stub.accept([entry]);
		expect(handoff?.targets).toBe(COPIED.all);
		await drainHandoffs(env, [handoff!]);
		await waitForEvents(entry.message_id, 1);
		// No report came: the row's state is as accepted, and nothing waits in the outbox.
		expect(await stateOf(entry, handoff!.rows[0]!.partition)).toBe(0);
		expect(await pendingInLedger(entry.message_id)).toEqual([]);

		// Within the grace the handoff is still the Worker's, and D1 may not evict it.
		const early = await stub.maintain(Date.now());
		expect(early.reclaimed).toBe(0);
		expect(early.verifiedBefore).toBeLessThanOrEqual(Date.now());

		const now = afterGrace();
		const checked = await stub.maintain(now);
		expect(checked.reclaimed).toBe(0);
		expect(await pendingInLedger(entry.message_id)).toEqual([]);
		expect(await stateOf(entry, handoff!.rows[0]!.partition)).toBe(0);
		await waitForForwarded(entry.id);
		await settle();
		expect(await forwardedCount(entry.id)).toBe(1);
		expect(await eventsOf(entry.message_id)).toHaveLength(1);
	});

	it("is found by a new instance of its ledger, which reads back what its predecessor handed off", async () => {
		const stored = await entryFor("spec2026__message-delivered_sms.object.json");
		const lost = await entryFor("spec2026__message-sending.object.json", { messageId: stored.message_id });
		const stub = ledgerStub(stored.message_id);
		const first = await stub.accept([stored]);
		await drainHandoffs(env, [first.handoff!]);
		await waitForEvents(stored.message_id, 1);
		// The second handoff's Worker dies before it copies anything.
		await stub.accept([lost]);

		// A new instance over the same storage (after an eviction or a deploy) knows nothing of them.
		const report = await runInDurableObject(stub, (_instance: MessageLedger, state) =>
			new MessageLedger(state, env).maintain(afterGrace()),
		);
		expect(report.reclaimed).toBeGreaterThanOrEqual(1);
		// The stored one is accounted for by D1; the lost one waits in the outbox for both copies.
		expect(await pendingInLedger(stored.message_id)).toEqual([expect.objectContaining({ id: lost.id, copied: 0 })]);
		const watermark = await runInDurableObject(stub, (_instance: MessageLedger, state) =>
			state.storage.sql.exec<{ value: string }>("SELECT value FROM ledger_meta WHERE key = ?", VERIFIED_THROUGH).one(),
		);
		expect(Number(watermark.value)).toBeGreaterThan(0);
		// The old instance is gone in production; here it would find the same rows again.
		await stub.erase(stored.message_id);
	});

	describe("a handoff made just before an upgrade to quarter tables", () => {
		it("is found in its day's table, where a Worker deployed before quarter tables wrote it, and not sent again", async () => {
			const entry = await entryFor("spec2026__message-delivered_sms.object.json");
			const stub = ledgerStub(entry.message_id);
			const { handoff } = await stub.accept([entry]);
			await drainHandoffs(env, [handoff!]);
			await waitForEvents(entry.message_id, 1);
			// Moved to where the Worker before the upgrade put it: events_YYYYMMDD, not events_YYYYMMDDHH.
			const quarter = eventTableOf(handoff!.rows[0]!.hour);
			const day = dayTableOf(quarter);
			await env.DB.batch([
				createEventTable(env.DB, day),
				env.DB.prepare(`INSERT INTO ${day} SELECT * FROM ${quarter} WHERE id = ?1`).bind(entry.id),
				env.DB.prepare(`DELETE FROM ${quarter} WHERE id = ?1`).bind(entry.id),
			]);
			try {
				const checked = await stub.maintain(afterGrace());
				expect(checked.reclaimed).toBe(0);
				expect(await pendingInLedger(entry.message_id)).toEqual([]);
				await waitForForwarded(entry.id);
				await settle();
				expect(await forwardedCount(entry.id)).toBe(1);
			} finally {
				await env.DB.exec(`DROP TABLE ${day}`);
			}
		});
	});
});

describe("the watermark", () => {
	const watermarkOf = (stub: ReturnType<typeof ledgerStub>) =>
		runInDurableObject(stub, (_instance: MessageLedger, state) =>
			Number(
				state.storage.sql.exec<{ value: string }>("SELECT value FROM ledger_meta WHERE key = ?", VERIFIED_THROUGH).one()
					.value,
			),
		);

	it("moves once the cron's time is VERIFIED_STEP_MS past it, and is never stored past the real time", async () => {
		const first = await entryFor("spec2026__message-delivered_sms.object.json");
		const second = await entryFor("spec2026__message-sending.object.json", { messageId: first.message_id });
		const stub = ledgerStub(first.message_id);
		const one = await stub.accept([first]);
		await drainHandoffs(env, [one.handoff!]);
		await waitForEvents(first.message_id, 1);
		await stub.maintain(afterGrace());
		const before = await watermarkOf(stub);

		const two = await stub.accept([second]);
		await drainHandoffs(env, [two.handoff!]);
		await waitForEvents(first.message_id, 2);
		// Found in D1 a minute later: not yet worth a row, so D1 may still not evict past the old watermark.
		const soon = await stub.maintain(afterGrace());
		expect(await watermarkOf(stub)).toBe(before);
		expect(soon.verifiedBefore).toBe(before);

		// The cron's scheduled time, not the ledger's own clock, says the step has passed (the bench
		// runs the cron at simulated times; in production it is never ahead of the real time).
		const later = before + VERIFIED_STEP_MS + HANDOFF_GRACE_MS;
		const moved = await stub.maintain(later);
		const after = await watermarkOf(stub);
		expect(after).toBeGreaterThan(before);
		expect(after).toBeLessThanOrEqual(Date.now());
		expect(moved.verifiedBefore).toBe(later);
	});
});

describe("the windows that remain", () => {
	it("sends a row again when its Worker queued it and died before storing it, and a late D1 write changes nothing", async () => {
		const entry = await entryFor("spec2026__message-delivered_sms.object.json");
		const stub = ledgerStub(entry.message_id);
		const { handoff } = await stub.accept([entry]);
		// The Worker's send went out; then it died: no D1 write, no report.
		expect((await sendToQueue(env.FORWARD_QUEUE, handoff!.rows)).error).toBeNull();
		await waitForForwarded(entry.id);

		const report = await stub.maintain(afterGrace());
		expect(report.reclaimed).toBeGreaterThanOrEqual(1);
		expect(await pendingInLedger(entry.message_id)).toEqual([expect.objectContaining({ id: entry.id, copied: 0 })]);
		// The Worker's D1 write, held up somewhere, lands after the check: a no-op for the drain's.
		expect((await storeInD1(env.DB, handoff!.rows)).error).toBeNull();
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		expect(await pendingInLedger(entry.message_id)).toEqual([]);
		await vi.waitUntil(async () => (await forwardedCount(entry.id)) === 2, { timeout: 10_000, interval: 50 });
		expect(await eventsOf(entry.message_id)).toHaveLength(1);
	});

	it("when a report after a partial failure is lost, takes back only the rows D1 does not hold", async () => {
		const a = await entryFor("spec2026__message-sending.object.json");
		const b = await entryFor("spec2026__message-delivered_sms.object.json", { messageId: a.message_id });
		const stub = ledgerStub(a.message_id);
		const { handoff } = await stub.accept([a, b]);
		// Both queued; only the first stored (the second's write failed); the report never arrives.
		expect((await sendToQueue(env.FORWARD_QUEUE, handoff!.rows)).error).toBeNull();
		expect((await storeInD1(env.DB, handoff!.rows.slice(0, 1))).error).toBeNull();
		await waitForForwarded(b.id);

		await stub.maintain(afterGrace());
		expect(await pendingInLedger(a.message_id)).toEqual([expect.objectContaining({ id: b.id, copied: 0 })]);
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		await waitForEvents(a.message_id, 2);
		await vi.waitUntil(async () => (await forwardedCount(b.id)) === 2, { timeout: 10_000, interval: 50 });
		await settle();
		// The stored row was queued (the Worker stores only what it queued): it goes once.
		expect(await forwardedCount(a.id)).toBe(1);
	});
});

describe("while the check cannot be made", () => {
	it("keeps the handoff while D1 cannot be read, holds back eviction, and finds the row once D1 answers", async () => {
		const entry = await entryFor("spec2026__message-delivered_sms.object.json");
		const stub = ledgerStub(entry.message_id);
		const accepted = Date.now();
		const { handoff } = await stub.accept([entry]);
		await drainHandoffs(env, [handoff!]);
		await waitForEvents(entry.message_id, 1);

		const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
		const during = await withEventTablesBroken(() => stub.maintain(afterGrace()));
		expect(during.reclaimed).toBe(0);
		// Not accounted for yet: D1 may not evict what the ledger may still look for.
		expect(during.verifiedBefore).toBeLessThanOrEqual(accepted + 1000);
		expect(warn.mock.calls.map(([line]) => JSON.parse(String(line)).event)).toContain("ledger_handoff_check_failed");
		warn.mockRestore();
		expect(await pendingInLedger(entry.message_id)).toEqual([]);

		// D1 answers again, after the first step of its backoff.
		await new Promise((resolve) => setTimeout(resolve, 1100));
		const after = await stub.maintain(afterGrace());
		expect(after.reclaimed).toBe(0);
		expect(await pendingInLedger(entry.message_id)).toEqual([]);
		await settle();
		expect(await forwardedCount(entry.id)).toBe(1);
	});

	it("looks for nothing of a message erased meanwhile", async () => {
		const entry = await entryFor("spec2026__message-delivered_sms.object.json", { messageId: newMessageId() });
		const stub = ledgerStub(entry.message_id);
		const { handoff } = await stub.accept([entry]);
		await drainHandoffs(env, [handoff!]);
		await waitForEvents(entry.message_id, 1);
		await waitForForwarded(entry.id);
		const erased = await eraseMessage(env, entry.message_id);
		expect(erased).toMatchObject({ ok: true, value: { events: 1, ledgerRows: 1 } });

		const report = await stub.maintain(afterGrace());
		expect(await pendingInLedger(entry.message_id)).toEqual([]);
		expect(report.outbox).toBe(0);
		await settle();
		expect(await forwardedCount(entry.id)).toBe(1);
		expect(await eventsOf(entry.message_id)).toEqual([]);
	});
});
