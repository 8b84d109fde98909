import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it, vi } from "vitest";
import { prepareElement } from "../../src/ingest/prepare-element";
import { storeInD1 } from "../../src/ledger/copy-out";
import { ledgerNamed, ledgerNameOf } from "../../src/ledger/ledger-client";
import type { MessageLedger } from "../../src/ledger/message-ledger.do";
import { COPIED, type LedgerEntry } from "../../src/ledger/store/ledger-rows";
import { runMaintenance } from "../../src/maintenance/run-maintenance";
import { archiveCounts } from "../helpers/archive";
import { eventIdsHeld } from "../helpers/d1-rows";
import { receivedAt } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { BACKGROUND_WAIT_MS } from "../helpers/wait";

const EVENTS = 20_000;
const BUDGET_MB = 2;
const HOUR_MS = 60 * 60 * 1000;
/** D1's event tables span a quarter of a UTC day (src/db/event-tables.ts). */
const QUARTER_MS = 6 * HOUR_MS;

async function d1Ids(): Promise<Set<string>> {
	return new Set(await eventIdsHeld());
}

async function d1Size(): Promise<number> {
	return (await env.DB.prepare("SELECT 1").run()).meta.size_after;
}

/**
 * The ledgers accept the events and the test makes the copies a Worker would (D1 here; the queue
 * is not what this test is about, and 20,000 forwards would only slow it down). With `report`, it
 * reports them as a Worker does after a failure; without, the ledgers find them in D1 later.
 */
async function acceptAndStore(entries: readonly LedgerEntry[], report = true): Promise<void> {
	const groups = new Map<string, LedgerEntry[]>();
	for (const entry of entries) {
		const name = ledgerNameOf(env, entry.message_id);
		groups.set(name, [...(groups.get(name) ?? []), entry]);
	}
	for (const [name, group] of groups) {
		const { handoff } = await ledgerNamed(env, name).accept(group);
		if (handoff === null) throw new Error(`ledger ${name} handed nothing back`);
		const stored = await storeInD1(env.DB, handoff.rows);
		if (stored.error !== null) throw new Error(stored.error);
		if (!report) continue;
		await ledgerNamed(env, name).settle(
			handoff.rows.map((row) => ({
				partition: row.partition,
				messageId: row.message_id,
				id: row.id,
				copied: COPIED.all,
			})),
		);
	}
}

it(`keeps D1 under a ${BUDGET_MB} MB budget with ${EVENTS.toLocaleString("en")} events, every evicted event archived exactly once`, async () => {
	// Received in the first minute of the current quarter, so that two hours on (the hour archived)
	// their table is still running: the budget deletes it row by row, in key order. A quarter that
	// has ended would go whole (test/maintenance/enforce-budget.test.ts).
	const quarterStart = Date.now() - (Date.now() % QUARTER_MS);
	const receivedAt = new Date(quarterStart + 60_000).toISOString();
	const ids: string[] = [];
	const keys: string[] = [];
	for (let start = 0; start < EVENTS; start += 1000) {
		const entries: LedgerEntry[] = [];
		for (let i = start; i < Math.min(EVENTS, start + 1000); i++) {
			const time = new Date(Date.parse("2026-11-30T00:00:00Z") + i * 1000).toISOString();
			const prepared = await prepareElement(
				element("spec2026__message-received_sms.object.json", { time }),
				receivedAt,
			);
			if (prepared.kind !== "event") throw new Error(prepared.row.reason);
			entries.push(prepared.entry);
			ids.push(prepared.entry.id);
			keys.push(`${prepared.entry.message_id}\n${prepared.entry.id}`);
		}
		// No report: at the next maintenance each ledger finds its rows in D1 (and takes nothing back).
		await acceptAndStore(entries, false);
	}
	expect(new Set(ids).size).toBe(EVENTS);
	expect((await d1Ids()).size).toBe(EVENTS);
	expect(await d1Size()).toBeGreaterThan(BUDGET_MB * 1_000_000 * 5);

	const warn = vi.spyOn(console, "warn");
	// Two hours on: the hour the events arrived in is closed, so the ledgers archive it first.
	await runMaintenance({ ...env, D1_BUDGET_MB: String(BUDGET_MB) }, quarterStart + 2 * HOUR_MS);
	const warned = warn.mock.calls.map(([line]) => String(line));
	warn.mockRestore();
	// Each ledger found its handoffs in D1: nothing was taken back to be sent again.
	expect(warned.filter((line) => line.includes("ledger_handoff_reclaimed"))).toEqual([]);

	expect(await d1Size()).toBeLessThanOrEqual(BUDGET_MB * 1_000_000);
	// Evicted down to just under the budget, D1 is past 80 % of it: the operator is told (src/alerts).
	expect(await d1Size()).toBeGreaterThanOrEqual(0.8 * BUDGET_MB * 1_000_000);
	await vi.waitUntil(async () => (await nearBudgetAlerts()).length > 0, { timeout: BACKGROUND_WAIT_MS });
	const kept = await d1Ids();
	const archived = await archiveCounts();
	const evicted = ids.filter((id) => !kept.has(id));
	expect(evicted.length).toBeGreaterThan(EVENTS / 2);
	// Every event, evicted or not, is in the archive exactly once; none is lost.
	expect(ids.filter((id) => archived.get(id) !== 1)).toEqual([]);
	expect(archived.size).toBe(EVENTS);
	expect(ids.every((id) => kept.has(id) || archived.has(id))).toBe(true);

	// All were received in one quarter, into its table, which goes in key order: D1 keeps the last ones.
	const keptKeys = keys.filter((_, index) => kept.has(ids[index] ?? ""));
	expect([...keptKeys].sort()).toEqual([...keys].sort().slice(EVENTS - kept.size));

	// Run again: nothing archived twice.
	await runMaintenance({ ...env, D1_BUDGET_MB: String(BUDGET_MB) }, quarterStart + 3 * HOUR_MS);
	expect([...(await archiveCounts()).values()].every((count) => count === 1)).toBe(true);
}, 300_000);

/**
 * The near-budget alerts the desk sent about this test's budget (it sends one at once; ALERT_URL is
 * the shared test downstream's /alerts, which other files' alerts reach too).
 */
async function nearBudgetAlerts(): Promise<unknown[]> {
	const requests = await receivedAt("/alerts");
	return requests
		.map((request) => JSON.parse(request.body) as { type: string; data: { budgetBytes?: number } })
		.filter((alert) => alert.type === "relay.storage.near_budget" && alert.data.budgetBytes === BUDGET_MB * 1_000_000);
}

it("writes an hour again under the same keys after a crash between the write and its record", async () => {
	const receivedAt = new Date().toISOString();
	const entries: LedgerEntry[] = [];
	for (let i = 0; i < 300; i++) {
		const prepared = await prepareElement(element("spec2026__message-delivered_sms.object.json"), receivedAt);
		if (prepared.kind !== "event") throw new Error(prepared.row.reason);
		entries.push(prepared.entry);
	}
	await acceptAndStore(entries);
	const name = ledgerNameOf(env, entries[0]!.message_id);
	const stub = ledgerNamed(env, name);
	// The first run dies right after its first R2 write, before it can note the hour as archived.
	// (The real bucket does the write; only the failure after it is injected.)
	await runInDurableObject(stub, (instance: MessageLedger) => {
		const holder = instance as unknown as { env: Env };
		const original = holder.env;
		const archive = original.ARCHIVE;
		const crashing = {
			put: async (...args: Parameters<R2Bucket["put"]>) => {
				await archive.put(...args);
				holder.env = original;
				throw new Error("the isolate went away after the write");
			},
		};
		holder.env = { ...original, ARCHIVE: crashing as unknown as R2Bucket };
	});
	// Later than the first test's runs: an hour a ledger has archived takes no new rows (they are
	// filed under the next open hour), so these events sit in an hour that closes after 3 h.
	const later = Date.now() + 6 * HOUR_MS;
	// The failed write is reported, and the hour stays the first not archived.
	const crashed = await stub.maintain(later);
	expect(crashed.archiveError).toMatch(/went away/);
	await stub.maintain(later);
	const counts = await archiveCounts();
	const mine = entries.filter((entry) => ledgerNameOf(env, entry.message_id) === name);
	expect(mine.map((entry) => counts.get(entry.id))).toEqual(mine.map(() => 1));
}, 60_000);
