import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { deleteDayTableChunk, holdsDeadEvent } from "../../src/db/event-expiry.repository";
import { dayTableOf, eventTableOf, eventTableStart } from "../../src/db/event-tables";
import { readStorage } from "../../src/db/storage.repository";
import { enforceBudget, mayDropWhole } from "../../src/maintenance/enforce-budget";
import { meter } from "../../src/meter/meter";
import { meteredEnv } from "../../src/meter/metered-env";
import {
	clearTables,
	columnOf,
	eventIdsHeld,
	eventTables,
	insertDeliveryRow,
	insertEventRows,
	insertLegacyEventRows,
} from "../helpers/d1-rows";

const DAY_MS = 24 * 60 * 60 * 1000;
const NOW = Date.parse("2031-06-01T00:00:00.000Z");
const daysAgo = (days: number) => new Date(NOW - days * DAY_MS).toISOString();
const NOW_ISO = new Date(NOW).toISOString();
const MB = 1_000_000;
/** Big enough that a handful of events move D1's size by whole pages. */
const BODY_BYTES = 20_000;
const CHUNK = { chunkRows: 5, maxRounds: 100 };

/** No archive, no ledger's bound. */
const NO_BOUNDS = { archivedBefore: undefined };

/** Where D1's history starts: the start of its oldest event table. */
async function oldestTableStart(): Promise<string | null> {
	const [oldest] = await eventTables();
	return oldest === undefined ? null : new Date(eventTableStart(oldest) ?? 0).toISOString();
}

/** The start of the UTC day of a time. */
const dayOf = (time: string | undefined) => `${time?.slice(0, 10)}T00:00:00.000Z`;

/** The settings a deployment with D1_BUDGET_MB = `mb` runs with. */
const budgetEnv = (mb: number) => ({ ...env, D1_BUDGET_MB: String(mb) });

/**
 * `count` events a minute apart, the first `startDaysAgo` days before NOW, all received when they
 * happened: one quarter's table (NOW is midnight; 0 days ago is the quarter still running).
 */
function eventsFrom(startDaysAgo: number, count: number, layout?: "day") {
	return Array.from({ length: count }, (_, i) => ({
		eventTime: new Date(NOW - startDaysAgo * DAY_MS + i * 60_000).toISOString(),
		bodyBytes: BODY_BYTES,
		...(layout === undefined ? {} : { layout }),
	}));
}

/** The log lines written through one console method, parsed. */
function linesOf(spy: MockInstance): Array<Record<string, unknown>> {
	return spy.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
}

let warn: MockInstance;
let error: MockInstance;
let info: MockInstance;

beforeEach(async () => {
	await clearTables();
	warn = vi.spyOn(console, "warn").mockImplementation(() => {});
	error = vi.spyOn(console, "error").mockImplementation(() => {});
	info = vi.spyOn(console, "log").mockImplementation(() => {});
});
afterEach(() => {
	vi.restoreAllMocks();
});

describe("D1 byte budget", () => {
	it("evicts the oldest table's events first, with their deliveries rows, until D1 is at or under budget", async () => {
		// Inserted newest first: eviction follows the tables, not insertion order (within one, key order).
		// The older quarter has ended and goes whole; the newer one is still running, so it goes row by row.
		const newer = await insertEventRows(eventsFrom(0, 60));
		const older = await insertEventRows(eventsFrom(5, 40));
		for (const id of older.slice(0, 3)) await insertDeliveryRow(id, "failed", daysAgo(4));
		const before = await readStorage(env.DB);
		expect(before.sizeBytes).toBeGreaterThan(1.5 * MB);

		// Recent events, no archive: the budget wins over RETENTION_DAYS and over history.
		const report = await enforceBudget(budgetEnv(1), NOW, NO_BOUNDS, CHUNK);

		const held = await eventIdsHeld();
		const all = [...older, ...newer];
		const evicted = all.length - held.length;
		expect(report).toEqual({
			sizeBytes: (await readStorage(env.DB)).sizeBytes,
			budgetBytes: MB,
			evicted,
			historyFrom: expect.any(String),
			outcome: "evicted",
		});
		expect(report.sizeBytes).toBeLessThanOrEqual(MB);
		// It stops within one chunk of the budget rather than emptying the table.
		expect(report.sizeBytes).toBeGreaterThan(MB - CHUNK.chunkRows * (BODY_BYTES + 4096));
		expect(held).toEqual(all.slice(evicted));
		expect(evicted).toBeGreaterThan(older.length);
		expect(report.historyFrom).toBe(await oldestTableStart());
		expect(report.historyFrom).toBe(NOW_ISO);
		expect(await columnOf("SELECT event_id FROM deliveries", "event_id")).toEqual([]);
		expect(linesOf(info)).toContainEqual(
			expect.objectContaining({ event: "d1_budget_enforced", evicted, sizeBeforeBytes: before.sizeBytes }),
		);
		// At the budget after eviction: still over 80 %, so the warning stands.
		expect(linesOf(warn)).toContainEqual(expect.objectContaining({ event: "d1_near_budget", budgetBytes: MB }));
	});

	it("keeps a dead event in D1 through the budget, and goes on to the next table's events", async () => {
		// The older quarter alone is not enough to get under budget: eviction must go on into the newer one.
		const older = await insertEventRows(eventsFrom(5, 20));
		const newer = await insertEventRows(eventsFrom(0, 60));
		const dead = older.slice(10, 12);
		for (const id of dead) await insertDeliveryRow(id, "dead", daysAgo(4));

		const report = await enforceBudget(budgetEnv(1), NOW, NO_BOUNDS, { chunkRows: 50, maxRounds: 100 });

		const held = await eventIdsHeld();
		expect(report.sizeBytes).toBeLessThanOrEqual(MB);
		// The dead events are still listed and replayable; everything else of their quarter went first.
		for (const id of dead) expect(held).toContain(id);
		expect(held.filter((id) => older.includes(id))).toEqual(expect.arrayContaining(dead));
		expect(held.filter((id) => older.includes(id) && !dead.includes(id))).toEqual([]);
		expect(held.some((id) => newer.includes(id))).toBe(true);
		expect(held.filter((id) => newer.includes(id)).length).toBeLessThan(newer.length);
		expect((await columnOf("SELECT event_id FROM deliveries WHERE outcome = 'dead'", "event_id")).sort()).toEqual(
			[...dead].sort(),
		);
	});

	it("with an archive, evicts only archived events and reports when the archive is behind", async () => {
		const archived = await insertEventRows(eventsFrom(5, 20));
		const unarchived = await insertEventRows(eventsFrom(1, 60));
		const archivedBefore = daysAgo(3);

		const report = await enforceBudget(budgetEnv(1), NOW, { archivedBefore }, CHUNK);

		expect(report).toMatchObject({ evicted: archived.length, outcome: "archive_behind", budgetBytes: MB });
		expect(report.sizeBytes).toBeGreaterThan(MB);
		expect(await eventIdsHeld()).toEqual(unarchived);
		// The quarter dropped is gone with its events.
		expect(await eventTables()).toEqual([eventTableOf(daysAgo(1))]);
		expect(report.historyFrom).toBe(dayOf(eventsFrom(1, 1)[0]?.eventTime));
		expect(linesOf(error)).toContainEqual(
			expect.objectContaining({
				level: "error",
				event: "d1_over_budget_archive_behind",
				sizeBytes: report.sizeBytes,
				budgetBytes: MB,
				archivedBefore,
			}),
		);
	});

	it("evicts nothing while every event is unarchived", async () => {
		const ids = await insertEventRows(eventsFrom(1, 80));
		const report = await enforceBudget(budgetEnv(1), NOW, { archivedBefore: daysAgo(2) }, CHUNK);
		expect(report).toMatchObject({ evicted: 0, outcome: "archive_behind" });
		expect(await eventIdsHeld()).toEqual(ids);
		expect(linesOf(error).map((line) => line.event)).toEqual(["d1_over_budget_archive_behind"]);
		expect(linesOf(info)).toEqual([]);
	});

	it("stops at the round limit and leaves the rest to the next run", async () => {
		await insertEventRows(eventsFrom(0, 80));
		const report = await enforceBudget(budgetEnv(1), NOW, NO_BOUNDS, { chunkRows: 2, maxRounds: 3 });
		expect(report).toMatchObject({ evicted: 6, outcome: "round_limit" });
		expect(report.sizeBytes).toBeGreaterThan(MB);
	});

	it("warns at 80 % of the budget and evicts nothing under it", async () => {
		const ids: string[] = [];
		// Fill to between 1.7 and 2 MB: 85–100 % of a 2 MB budget.
		while ((await readStorage(env.DB)).sizeBytes < 1.7 * MB) ids.push(...(await insertEventRows(eventsFrom(3, 5))));
		const { sizeBytes } = await readStorage(env.DB);
		expect(sizeBytes).toBeLessThan(2 * MB);

		const near = await enforceBudget(budgetEnv(2), NOW, NO_BOUNDS, CHUNK);
		expect(near).toEqual({
			sizeBytes,
			budgetBytes: 2 * MB,
			evicted: 0,
			historyFrom: dayOf(eventsFrom(3, 1)[0]?.eventTime),
			outcome: "within_budget",
		});
		expect(await eventIdsHeld()).toHaveLength(ids.length);
		expect(linesOf(warn)).toEqual([
			{
				level: "warn",
				event: "d1_near_budget",
				sizeBytes,
				budgetBytes: 2 * MB,
				ratio: Math.round((sizeBytes / (2 * MB)) * 1000) / 1000,
				historyDays: 3,
			},
		]);
		expect(linesOf(info)).toEqual([]);

		warn.mockClear();
		await enforceBudget(budgetEnv(3), NOW, NO_BOUNDS, CHUNK);
		expect(linesOf(warn)).toEqual([]);
	});

	it("reports an empty table as no history", async () => {
		const report = await enforceBudget(env, NOW, NO_BOUNDS);
		expect(report).toMatchObject({ evicted: 0, historyFrom: null, budgetBytes: 8000 * MB, outcome: "within_budget" });
	});

	it("evicts the legacy table's events first, oldest by time, and drops it once empty", async () => {
		const legacy = await insertLegacyEventRows(
			Array.from({ length: 10 }, (_, i) => ({ eventTime: daysAgo(9 - i / 24) })).reverse(),
		);
		const current = await insertEventRows(eventsFrom(0, 80));
		const report = await enforceBudget(budgetEnv(1), NOW, NO_BOUNDS, CHUNK);
		expect(report.outcome).toBe("evicted");
		const held = await eventIdsHeld();
		expect(held.some((id) => legacy.includes(id))).toBe(false);
		expect(held.length).toBeGreaterThan(0);
		expect(held).toEqual(current.slice(current.length - held.length));
		expect(await columnOf<string>("SELECT name FROM sqlite_master WHERE name = 'events'", "name")).toEqual([]);
	});

	it("writes one row per event it evicts row by row: the event tables have no index", async () => {
		await insertEventRows(eventsFrom(5, 30));
		const table = eventTableOf(daysAgo(5));
		const chunk = deleteDayTableChunk(env.DB, table, undefined, 12);
		const [, events] = await env.DB.batch([chunk.deliveries, chunk.events]);
		expect(events?.meta.changes).toBe(12);
		expect(events?.meta.rows_written).toBe(12);
	});

	it("without an archive, evicts no event its ledger may still look for, and says so", async () => {
		const checked = await insertEventRows(eventsFrom(5, 20));
		const recent = await insertEventRows(eventsFrom(1, 60));
		// Every ledger has accounted for what it accepted up to two days ago; not yet for the rest.
		const report = await enforceBudget(
			budgetEnv(1),
			NOW,
			{ archivedBefore: undefined, verifiedBefore: daysAgo(2) },
			CHUNK,
		);
		expect(report).toMatchObject({ evicted: checked.length, outcome: "ledgers_behind" });
		expect(await eventIdsHeld()).toEqual(recent);
		expect(linesOf(error)).toContainEqual(
			expect.objectContaining({ event: "d1_over_budget_ledgers_behind", verifiedBefore: daysAgo(2) }),
		);
	});

	it("drops the oldest quarter whole once it has ended, writing no row for its events", async () => {
		const oldest = await insertEventRows(eventsFrom(5, 40));
		for (const id of oldest.slice(0, 3)) await insertDeliveryRow(id, "failed", daysAgo(4));
		// After the oldest quarter, D1 is under budget: nothing else goes.
		const complete = await insertEventRows(eventsFrom(3, 25));
		const today = await insertEventRows(eventsFrom(0, 3));
		const before = meter.snapshot();

		const report = await enforceBudget(meteredEnv(budgetEnv(1)), NOW, NO_BOUNDS, CHUNK);

		// The quarter's three deliveries rows are deleted (none may outlive its event); the events, none.
		expect(meter.snapshot().d1RowsWritten - before.d1RowsWritten).toBe(3);
		expect(report).toMatchObject({ evicted: oldest.length, outcome: "evicted" });
		expect(report.sizeBytes).toBeLessThanOrEqual(MB);
		expect(await eventIdsHeld()).toEqual([...complete, ...today]);
		expect(await eventTables()).toEqual([eventTableOf(daysAgo(3)), eventTableOf(NOW_ISO)]);
		expect(await columnOf("SELECT event_id FROM deliveries", "event_id")).toEqual([]);
	});

	it("drops yesterday's quarters whole with a budget of about a day: the day goes by quarters, no row written", async () => {
		// Yesterday's four quarters, each about a quarter of the budget, and the current quarter's first events.
		const quarters = [];
		for (const hours of [24, 18, 12, 6]) quarters.push(await insertEventRows(eventsFrom(hours / 24, 12)));
		const current = await insertEventRows(eventsFrom(0, 12));
		const before = meter.snapshot();

		const report = await enforceBudget(meteredEnv(budgetEnv(1)), NOW, NO_BOUNDS, CHUNK);

		expect(report.outcome).toBe("evicted");
		expect(report.sizeBytes).toBeLessThanOrEqual(MB);
		// Whole quarters, oldest first, as few as bring D1 under budget: no event row written.
		expect(meter.snapshot().d1RowsWritten - before.d1RowsWritten).toBe(0);
		const held = await eventIdsHeld();
		const dropped = quarters.findIndex((ids) => ids.every((id) => held.includes(id)));
		expect(dropped).toBeGreaterThan(0);
		expect(held).toEqual([...quarters.slice(dropped).flat(), ...current]);
		expect(report.evicted).toBe(quarters.slice(0, dropped).flat().length);
		// One quarter fewer would still be over budget.
		expect((await readStorage(env.DB)).sizeBytes + quarters[dropped - 1]!.length * BODY_BYTES).toBeGreaterThan(MB);
	});

	it("deletes a day table row by row, a row written per event, while it is the only complete one left", async () => {
		// Written by a relay deployed before quarter tables: a day goes whole only when the next table has ended too.
		const yesterday = await insertEventRows(eventsFrom(1, 60, "day"));
		const today = await insertEventRows(eventsFrom(0, 20));
		const before = meter.snapshot();

		const report = await enforceBudget(meteredEnv(budgetEnv(1)), NOW, NO_BOUNDS, CHUNK);

		expect(report.outcome).toBe("evicted");
		expect(report.evicted).toBeGreaterThan(0);
		expect(report.evicted).toBeLessThan(yesterday.length);
		expect(meter.snapshot().d1RowsWritten - before.d1RowsWritten).toBe(report.evicted);
		// Yesterday stays in part: history still reaches back a whole day.
		expect(await eventTables()).toEqual([dayTableOf(eventTableOf(daysAgo(1))), eventTableOf(NOW_ISO)]);
		expect(await eventIdsHeld()).toEqual([...yesterday.slice(report.evicted), ...today]);
	});

	it("deletes a quarter holding a dead event row by row, keeping the dead event, though it has ended", async () => {
		const oldest = await insertEventRows(eventsFrom(5, 40));
		const dead = oldest[7] as string;
		await insertDeliveryRow(dead, "dead", daysAgo(4));
		const complete = await insertEventRows(eventsFrom(3, 40));
		const before = meter.snapshot();

		const report = await enforceBudget(meteredEnv(budgetEnv(1)), NOW, NO_BOUNDS, { chunkRows: 50, maxRounds: 100 });

		expect(report.sizeBytes).toBeLessThanOrEqual(MB);
		const held = await eventIdsHeld();
		expect(held).toContain(dead);
		expect(held.filter((id) => oldest.includes(id))).toEqual([dead]);
		expect(held.filter((id) => complete.includes(id))).toEqual(complete);
		expect(report.evicted).toBe(oldest.length - 1);
		expect(meter.snapshot().d1RowsWritten - before.d1RowsWritten).toBe(oldest.length - 1);
	});

	it("finds a dead event by its key, or by its id alone when its row has no message id, and only in its own table", async () => {
		const [older] = await insertEventRows(eventsFrom(5, 1));
		const [newer] = await insertEventRows(eventsFrom(3, 1));
		const dead = async (days: number) =>
			(await holdsDeadEvent(env.DB, eventTableOf(daysAgo(days))).first<{ dead: number }>())?.dead;
		await insertDeliveryRow(older as string, "failed", daysAgo(4));
		expect([await dead(5), await dead(3)]).toEqual([0, 0]);
		await insertDeliveryRow(older as string, "dead", daysAgo(4));
		expect([await dead(5), await dead(3)]).toEqual([1, 0]);
		await env.DB.prepare("UPDATE deliveries SET message_id = NULL").run();
		expect([await dead(5), await dead(3)]).toEqual([1, 0]);
		await insertDeliveryRow(newer as string, "dead", daysAgo(2), "another message");
		expect(await dead(3)).toBe(0);
	});

	it("drops a quarter whole once it has ended and its events are past the bound; a day table once the next has ended too", () => {
		const quarter = (days: number) => eventTableOf(daysAgo(days));
		const day = (days: number) => dayTableOf(eventTableOf(daysAgo(days)));
		// NOW is midnight: the quarter starting then is running, the one before it has ended.
		expect(mayDropWhole([quarter(0.25), quarter(0)], NOW, undefined)).toBe(true);
		expect(mayDropWhole([quarter(0.25)], NOW, undefined)).toBe(true);
		expect(mayDropWhole([quarter(0)], NOW, undefined)).toBe(false);
		expect(mayDropWhole(["events", quarter(2)], NOW, undefined)).toBe(false);
		// The archive (or the ledgers) cover the quarter only up to its last hour: row by row, by receipt.
		// quarter(0.25) ends at NOW.
		expect(mayDropWhole([quarter(0.25)], NOW, NOW_ISO)).toBe(true);
		expect(mayDropWhole([quarter(0.25)], NOW, daysAgo(0.01))).toBe(false);
		// Day tables, as before quarters: whole only when the next table has ended too.
		expect(mayDropWhole([day(3), day(2)], NOW, undefined)).toBe(true);
		expect(mayDropWhole([day(1), quarter(0.25)], NOW, undefined)).toBe(true);
		expect(mayDropWhole([day(1), quarter(0)], NOW, undefined)).toBe(false);
		expect(mayDropWhole([day(1)], NOW, undefined)).toBe(false);
		expect(mayDropWhole([day(3), day(2)], NOW, daysAgo(2))).toBe(true);
		expect(mayDropWhole([day(3), day(2)], NOW, daysAgo(2.1))).toBe(false);
	});
});
