import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { prepareElement } from "../../src/ingest/prepare-element";
import { drainHandoffs } from "../../src/ledger/drain-handoffs";
import type { LedgerEntry } from "../../src/ledger/ledger-store";
import { HANDOFF_COPY_WINDOW_MS, HANDOFF_GRACE_MS, type MessageLedger } from "../../src/ledger/message-ledger.do";
import { element } from "../helpers/fixtures";
import { alarmOf, ledgerStub, pendingInLedger } from "../helpers/ledger";
import { eventsOf, waitForDeliveries, waitForEvents } from "../helpers/storage";

async function entryFor(name: string, overrides: Parameters<typeof element>[1] = {}): Promise<LedgerEntry> {
	const prepared = await prepareElement(element(name, overrides), new Date().toISOString());
	if (prepared.kind !== "event") throw new Error(prepared.row.reason);
	return prepared.entry;
}

describe("handing rows to the delivering Worker", () => {
	it("hands new rows back with their sequence", async () => {
		const entry = await entryFor("spec2026__message-delivered_sms.object.json");
		const result = await ledgerStub(entry.message_id).accept([entry]);
		expect(result).toMatchObject({ stored: 1, duplicates: 0 });
		expect(result.handoff?.rows).toEqual([
			expect.objectContaining({ id: entry.id, sequence: 1, status: "delivered", status_rank: 3 }),
		]);
		expect(JSON.parse(result.handoff!.rows[0]!.normalized_json).data.sequence).toBe(1);
		// Until the Worker reports, the ledger only waits for it, up to the grace period.
		const alarm = await alarmOf(entry.message_id);
		expect(alarm).toBeGreaterThan(Date.now() + HANDOFF_GRACE_MS - 5000);
		expect(await runDurableObjectAlarm(ledgerStub(entry.message_id))).toBe(true);
		expect(await pendingInLedger(entry.message_id)).toHaveLength(1);
	});

	it("takes back rows a Worker never reported on, and drains them itself", async () => {
		const entry = await entryFor("spec2026__message-delivered_sms.object.json");
		const stub = ledgerStub(entry.message_id);
		expect((await stub.accept([entry])).handoff).not.toBeNull();
		await runInDurableObject(stub, (_instance: MessageLedger, state) => {
			state.storage.sql.exec("UPDATE events SET handed_off_at = ?", Date.now() - HANDOFF_GRACE_MS - 1);
		});
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		expect(await pendingInLedger(entry.message_id)).toEqual([]);
		await waitForEvents(entry.message_id, 1);
		await waitForDeliveries(entry.id, 1);
	});

	it("keeps new rows for its own drain while older ones wait", async () => {
		const first = await entryFor("spec2026__message-sending.object.json");
		const stub = ledgerStub(first.message_id);
		await stub.accept([first]);
		await stub.settleHandoff([], [1]);
		const later = await entryFor("spec2026__message-delivered_sms.object.json", { messageId: first.message_id });
		const result = await stub.accept([later]);
		expect(result).toMatchObject({ stored: 1, handoff: null });
		expect((await pendingInLedger(first.message_id)).map((row) => row.sequence)).toEqual([1, 2]);
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		expect((await waitForEvents(first.message_id, 2)).map((row) => row.sequence)).toEqual([1, 2]);
	});

	it("marks reported rows drained and forgets nothing it was not told", async () => {
		const a = await entryFor("spec2026__message-sending.object.json");
		const b = await entryFor("spec2026__message-delivered_sms.object.json", { messageId: a.message_id });
		const stub = ledgerStub(a.message_id);
		const { handoff } = await stub.accept([a, b]);
		expect(handoff?.rows.map((row) => row.sequence)).toEqual([1, 2]);
		await stub.settleHandoff([1], [2]);
		expect(await pendingInLedger(a.message_id)).toEqual([expect.objectContaining({ sequence: 2, has_body: 1 })]);
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
		const sequences = handoff!.rows.map((row) => row.sequence);
		await stub.settleHandoff(sequences.slice(0, 120), sequences.slice(120));
		expect((await pendingInLedger(first.message_id)).map((row) => row.sequence)).toEqual(sequences.slice(120));
	});

	it("gives a handoff back untouched once its copy-out window has closed", async () => {
		const entry = await entryFor("spec2026__message-delivered_sms.object.json");
		const stub = ledgerStub(entry.message_id);
		const { handoff } = await stub.accept([entry]);
		const sendBatch = vi.spyOn(env.FORWARD_QUEUE, "sendBatch");
		try {
			// As if the Worker's answer had been held up past the window by a slow ledger or D1.
			await drainHandoffs(env, [{ ...handoff!, handedOffAt: Date.now() - HANDOFF_COPY_WINDOW_MS - 1 }]);
			expect(sendBatch).not.toHaveBeenCalled();
		} finally {
			sendBatch.mockRestore();
		}
		expect(await eventsOf(entry.message_id)).toEqual([]);
		expect(await pendingInLedger(entry.message_id)).toEqual([expect.objectContaining({ sequence: 1, has_body: 1 })]);
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		await waitForEvents(entry.message_id, 1);
		await waitForDeliveries(entry.id, 1);
	});
});
