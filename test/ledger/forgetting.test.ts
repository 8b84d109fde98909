import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect, it, vi } from "vitest";
import type { MessageLedger } from "../../src/ledger/message-ledger.do";
import { postCallback } from "../helpers/callback";
import { element } from "../helpers/fixtures";
import { alarmOf, ledgerStub, waitForDrainBackoff } from "../helpers/ledger";
import { eventsOf, waitForEvents, withTableRenamed } from "../helpers/storage";

const DAY_MS = 24 * 60 * 60 * 1000;

/** The ledger's own tables; none means it holds no storage at all. */
function tablesOf(messageId: string): Promise<string[]> {
	return runInDurableObject(ledgerStub(messageId), (_instance: MessageLedger, state) =>
		state.storage.sql
			.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 1) != '_'")
			.toArray()
			.map((row) => row.name),
	);
}

it("remembers ids for RETENTION_DAYS after its last event, then clears itself", async () => {
	const event = element("spec2026__message-delivered_sms.object.json");
	const id = event.message.id;
	await postCallback([event]);
	await waitForEvents(id, 1);

	// Drained: the ledger keeps only the memory of the id, until 30 days after the last event.
	const alarm = await vi.waitUntil(async () => {
		const at = await alarmOf(id);
		return at !== null && at > Date.now() + DAY_MS ? at : undefined;
	});
	expect(alarm).toBeGreaterThan(Date.now() + 29 * DAY_MS);
	expect(alarm).toBeLessThanOrEqual(Date.now() + 30 * DAY_MS);
	expect(await (await postCallback([event])).json()).toMatchObject({ duplicates: 1 });

	// Age the ledger past its retention and let the alarm fire.
	await runInDurableObject(ledgerStub(id), (_instance: MessageLedger, state) => {
		state.storage.sql.exec("UPDATE events SET received_at = ?", new Date(Date.now() - 31 * DAY_MS).toISOString());
	});
	expect(await runDurableObjectAlarm(ledgerStub(id))).toBe(true);
	expect(await tablesOf(id)).toEqual([]);
	expect(await alarmOf(id)).toBeNull();

	// Forgotten: the same event is new again, and the ledger starts over.
	expect(await (await postCallback([event])).json()).toMatchObject({ stored: 1, duplicates: 0 });
	expect(await tablesOf(id)).toEqual(["events"]);
});

it("never forgets an event it has not drained, however old", async () => {
	const event = element("spec2026__message-delivered_sms.object.json");
	const id = event.message.id;
	const countRows = () =>
		runInDurableObject(ledgerStub(id), (_instance: MessageLedger, state) =>
			state.storage.sql
				.exec<{ n: number; pending: number }>(
					"SELECT count(*) AS n, coalesce(sum(state != 1), 0) AS pending FROM events",
				)
				.one(),
		);
	await withTableRenamed("events", async () => {
		await postCallback([event]);
		await waitForDrainBackoff(id);
		await runInDurableObject(ledgerStub(id), (_instance: MessageLedger, state) => {
			state.storage.sql.exec("UPDATE events SET received_at = ?", new Date(Date.now() - 90 * DAY_MS).toISOString());
		});
		expect(await runDurableObjectAlarm(ledgerStub(id))).toBe(true);
		expect(await countRows()).toEqual({ n: 1, pending: 1 });
	});
	// D1 is back: the event drains first, and only then is the stale ledger cleared.
	expect(await runDurableObjectAlarm(ledgerStub(id))).toBe(true);
	expect(await eventsOf(id)).toHaveLength(1);
	expect(await tablesOf(id)).toEqual([]);
});
