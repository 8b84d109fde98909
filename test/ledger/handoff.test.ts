import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { prepareElement } from "../../src/ingest/prepare-element";
import { drainHandoffs } from "../../src/ledger/drain-handoffs";
import { HANDOFF_COPY_WINDOW_MS, HANDOFF_GRACE_MS, MAX_EVENTS_PER_MESSAGE } from "../../src/ledger/message-ledger.do";
import { COPIED, type LedgerEntry } from "../../src/ledger/store/ledger-rows";
import { postCallback } from "../helpers/callback";
import { receivedAt, waitForForwarded } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { alarmOf, ledgerStub, pendingInLedger } from "../helpers/ledger";
import { eventsOf, quarantineRows, waitForEvents, withEventTablesBroken } from "../helpers/storage";

async function entryFor(name: string, overrides: Parameters<typeof element>[1] = {}): Promise<LedgerEntry> {
	const prepared = await prepareElement(element(name, overrides), new Date().toISOString());
	if (prepared.kind !== "event") throw new Error(prepared.row.reason);
	return prepared.entry;
}

async function forwardedCount(eventId: string): Promise<number> {
	return (await receivedAt()).filter((request) => request.headers["webhook-id"] === eventId).length;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe("handing rows to the delivering Worker", () => {
	it("hands new rows back with their sequence and both copies to make, under one reclaim alarm", async () => {
		const entry = await entryFor("spec2026__message-delivered_sms.object.json");
		const stub = ledgerStub(entry.message_id);
		const result = await stub.accept([entry]);
		expect(result).toMatchObject({ stored: 1, duplicates: 0 });
		expect(result.handoff?.targets).toBe(COPIED.all);
		expect(result.handoff?.rows).toEqual([
			expect.objectContaining({ id: entry.id, sequence: 1, status: "delivered", status_rank: 3, copied: 0 }),
		]);
		expect(JSON.parse(result.handoff!.rows[0]!.normalized_json).data.sequence).toBe(1);
		// An alarm to take the rows back if this Worker never reports, about a minute out...
		const alarm = await alarmOf(entry.message_id);
		expect(alarm).toBeGreaterThan(Date.now() + HANDOFF_GRACE_MS - 5000);
		expect(alarm).toBeLessThanOrEqual(Date.now() + HANDOFF_GRACE_MS + 5000);
		// ...which the next handoffs share: no alarm is written for them.
		const next = await entryFor("spec2026__message-sending.object.json", { messageId: entry.message_id });
		const second = await stub.accept([next]);
		expect(await alarmOf(entry.message_id)).toBe(alarm);
		await drainHandoffs(env, [result.handoff!, second.handoff!]);
		expect(await pendingInLedger(entry.message_id)).toEqual([]);
		await waitForEvents(entry.message_id, 1);
		await waitForForwarded(entry.id);
	});

	it("takes back rows a Worker never reported on at the next maintenance, and drains them itself", async () => {
		const entry = await entryFor("spec2026__message-delivered_sms.object.json");
		const stub = ledgerStub(entry.message_id);
		expect((await stub.accept([entry])).handoff).not.toBeNull();
		const early = await stub.maintain(Date.now());
		expect(early.reclaimed).toBe(0);
		const report = await stub.maintain(Date.now() + HANDOFF_GRACE_MS + 1);
		expect(report.reclaimed).toBeGreaterThanOrEqual(1);
		expect(await pendingInLedger(entry.message_id)).toEqual([expect.objectContaining({ id: entry.id, copied: 0 })]);
		expect(await alarmOf(entry.message_id)).not.toBeNull();
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		expect(await pendingInLedger(entry.message_id)).toEqual([]);
		await waitForEvents(entry.message_id, 1);
		await waitForForwarded(entry.id);
	});

	it("records each copy on its own: a row the Worker queued but could not store waits for D1 only", async () => {
		const entry = await entryFor("spec2026__message-delivered_sms.object.json");
		const stub = ledgerStub(entry.message_id);
		const { handoff } = await stub.accept([entry]);
		await withEventTablesBroken(async () => {
			await drainHandoffs(env, [handoff!]);
			await waitForForwarded(entry.id);
			expect(await pendingInLedger(entry.message_id)).toEqual([
				expect.objectContaining({ id: entry.id, copied: COPIED.queue }),
			]);
		});
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		await waitForEvents(entry.message_id, 1);
		expect(await pendingInLedger(entry.message_id)).toEqual([]);
		await settle();
		expect(await forwardedCount(entry.id)).toBe(1);
	});

	it("keeps the sequences of one message in order across calls", async () => {
		const a = await entryFor("spec2026__message-sending.object.json");
		const b = await entryFor("spec2026__message-delivered_sms.object.json", { messageId: a.message_id });
		const stub = ledgerStub(a.message_id);
		const first = await stub.accept([a]);
		const second = await stub.accept([b, a]);
		expect(first.handoff?.rows.map((row) => row.sequence)).toEqual([1]);
		expect(second).toMatchObject({ stored: 1, duplicates: 1 });
		expect(second.handoff?.rows.map((row) => row.sequence)).toEqual([2]);
		await drainHandoffs(env, [first.handoff!, second.handoff!]);
		expect((await waitForEvents(a.message_id, 2)).map((row) => row.sequence)).toEqual([1, 2]);
	});

	it("settles a handoff of more rows than one query may bind parameters for", async () => {
		const first = await entryFor("spec2026__message-sending.object.json");
		const entries = [first];
		for (let i = 1; i < 150; i++) {
			const time = new Date(Date.parse("2026-01-01T00:00:00Z") + i * 1000).toISOString();
			entries.push(await entryFor("spec2026__message-sending.object.json", { messageId: first.message_id, time }));
		}
		const stub = ledgerStub(first.message_id);
		const { stored, handoff } = await stub.accept(entries);
		expect(stored).toBe(150);
		const reports = handoff!.rows.map((row, index) => ({
			partition: row.partition,
			messageId: row.message_id,
			id: row.id,
			copied: index < 120 ? COPIED.all : 0,
		}));
		await stub.settle(reports);
		expect((await pendingInLedger(first.message_id)).map((row) => row.sequence)).toEqual(
			handoff!.rows.slice(120).map((row) => row.sequence),
		);
	});

	it("gives a handoff back untouched once its copy-out window has closed", async () => {
		const entry = await entryFor("spec2026__message-delivered_sms.object.json");
		const stub = ledgerStub(entry.message_id);
		const { handoff } = await stub.accept([entry]);
		const sendBatch = vi.spyOn(env.FORWARD_QUEUE, "sendBatch");
		try {
			// As if the Worker's answer had been held up past the window by a slow ledger.
			await drainHandoffs(env, [handoff!], Date.now() - HANDOFF_COPY_WINDOW_MS - 1);
			expect(sendBatch).not.toHaveBeenCalled();
		} finally {
			sendBatch.mockRestore();
		}
		expect(await eventsOf(entry.message_id)).toEqual([]);
		expect(await pendingInLedger(entry.message_id)).toEqual([expect.objectContaining({ sequence: 1, copied: 0 })]);
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		await waitForEvents(entry.message_id, 1);
		await waitForForwarded(entry.id);
	});

	it("serves a stored event's body to the consumer of a job too large to carry it", async () => {
		const entry = await entryFor("spec2026__message-delivered_sms.object.json");
		const stub = ledgerStub(entry.message_id);
		const { handoff } = await stub.accept([entry]);
		expect(await stub.body(entry.message_id, entry.id)).toBe(handoff!.rows[0]!.normalized_json);
		expect(await stub.body(entry.message_id, "evt_unknown")).toBeNull();
	});
});

describe("bounds", () => {
	it(`stores at most ${MAX_EVENTS_PER_MESSAGE} events of one message and quarantines the rest, with the reason`, async () => {
		const first = await entryFor("spec2026__message-sending.object.json");
		const entries: LedgerEntry[] = [first];
		for (let i = 1; i < MAX_EVENTS_PER_MESSAGE; i++) {
			const time = new Date(Date.parse("2026-01-01T00:00:00Z") + i * 1000).toISOString();
			entries.push(await entryFor("spec2026__message-sending.object.json", { messageId: first.message_id, time }));
		}
		const stub = ledgerStub(first.message_id);
		for (let start = 0; start < entries.length; start += 250) {
			const { stored, refused } = await stub.accept(entries.slice(start, start + 250));
			expect([stored, refused.length]).toEqual([Math.min(250, entries.length - start), 0]);
		}
		const extra = element("spec2026__message-delivered_sms.object.json", { messageId: first.message_id });
		const response = await postCallback([extra]);
		expect(await response.json()).toEqual({ received: 1, stored: 0, duplicates: 0, quarantined: 1 });
		const [row] = await quarantineRows(`message.id: the message already has ${MAX_EVENTS_PER_MESSAGE} events%`);
		expect(JSON.parse(row!.raw_json)).toEqual(extra);
		// Bandwidth's retry of it lands on the same quarantine row.
		expect(await (await postCallback([extra])).json()).toMatchObject({ quarantined: 1 });
		expect(await quarantineRows(`message.id: the message already has ${MAX_EVENTS_PER_MESSAGE} events%`)).toHaveLength(
			1,
		);
	}, 60_000);
});

describe("the copy window", () => {
	it("reports what was queued without waiting for a D1 write that outlasts the window", async () => {
		const entry = await entryFor("spec2026__message-delivered_sms.object.json");
		const stub = ledgerStub(entry.message_id);
		const { handoff } = await stub.accept([entry]);
		// A D1 that takes a minute to answer: its batch never returns within the window.
		const slowDb = {
			prepare: env.DB.prepare.bind(env.DB),
			batch: () => new Promise(() => undefined),
		} as unknown as D1Database;
		const started = Date.now();
		// Answered 24 s ago: one second of window left, then 2 s of grace for the D1 write.
		await drainHandoffs({ ...env, DB: slowDb }, [handoff!], Date.now() - HANDOFF_COPY_WINDOW_MS + 1000);
		expect(Date.now() - started).toBeLessThan(5000);
		await waitForForwarded(entry.id);
		// The ledger knew it was queued: it copies it to D1 itself, and never sends it again.
		await waitForEvents(entry.message_id, 1, 10_000);
		expect(await pendingInLedger(entry.message_id)).toEqual([]);
		await settle();
		expect(await forwardedCount(entry.id)).toBe(1);
	}, 20_000);
});
