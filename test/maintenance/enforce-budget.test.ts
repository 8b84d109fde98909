import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { readStorage } from "../../src/db/storage.repository";
import { enforceBudget } from "../../src/maintenance/enforce-budget";
import { clearTables, columnOf, eventIdsHeld, insertDeliveryRow, insertEventRows } from "../helpers/d1-rows";

const DAY_MS = 24 * 60 * 60 * 1000;
const NOW = Date.parse("2031-06-01T00:00:00.000Z");
const daysAgo = (days: number) => new Date(NOW - days * DAY_MS).toISOString();
const MB = 1_000_000;
/** Big enough that a handful of events move D1's size by whole pages. */
const BODY_BYTES = 20_000;
const CHUNK = { chunkRows: 5, maxRounds: 100 };

/** The settings a deployment with D1_BUDGET_MB = `mb` runs with. */
const budgetEnv = (mb: number) => ({ ...env, D1_BUDGET_MB: String(mb) });

/** `count` events a minute apart, the first `startDaysAgo` days before NOW, all received when they happened. */
function eventsFrom(startDaysAgo: number, count: number) {
	return Array.from({ length: count }, (_, i) => ({
		eventTime: new Date(NOW - startDaysAgo * DAY_MS + i * 60_000).toISOString(),
		bodyBytes: BODY_BYTES,
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
	it("evicts the oldest events first, with their deliveries rows, until D1 is at or under budget", async () => {
		// Inserted newest first: eviction follows event time, not insertion order.
		const newer = await insertEventRows(eventsFrom(2, 40));
		const older = await insertEventRows(eventsFrom(5, 40));
		for (const id of older.slice(0, 3)) await insertDeliveryRow(id, "dead", daysAgo(4));
		const before = await readStorage(env.DB);
		expect(before.sizeBytes).toBeGreaterThan(1.5 * MB);

		// Recent events, no archive: the budget wins over RETENTION_DAYS and over history.
		const report = await enforceBudget(budgetEnv(1), NOW, undefined, CHUNK);

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
		expect(report.historyFrom).toBe((await columnOf<string>("SELECT min(event_time) AS t FROM events", "t"))[0]);
		expect(await columnOf("SELECT event_id FROM deliveries", "event_id")).toEqual([]);
		expect(linesOf(info)).toContainEqual(
			expect.objectContaining({ event: "d1_budget_enforced", evicted, sizeBeforeBytes: before.sizeBytes }),
		);
		// At the budget after eviction: still over 80 %, so the warning stands.
		expect(linesOf(warn)).toContainEqual(expect.objectContaining({ event: "d1_near_budget", budgetBytes: MB }));
	});

	it("with an archive, evicts only archived events and reports when the archive is behind", async () => {
		const archived = await insertEventRows(eventsFrom(5, 20));
		const unarchived = await insertEventRows(eventsFrom(1, 60));
		const archivedBefore = daysAgo(3);

		const report = await enforceBudget(budgetEnv(1), NOW, archivedBefore, CHUNK);

		expect(report).toMatchObject({ evicted: archived.length, outcome: "archive_behind", budgetBytes: MB });
		expect(report.sizeBytes).toBeGreaterThan(MB);
		expect(await eventIdsHeld()).toEqual(unarchived);
		expect(report.historyFrom).toBe(eventsFrom(1, 1)[0]?.eventTime);
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
		const report = await enforceBudget(budgetEnv(1), NOW, daysAgo(2), CHUNK);
		expect(report).toMatchObject({ evicted: 0, outcome: "archive_behind" });
		expect(await eventIdsHeld()).toEqual(ids);
		expect(linesOf(error).map((line) => line.event)).toEqual(["d1_over_budget_archive_behind"]);
		expect(linesOf(info)).toEqual([]);
	});

	it("stops at the round limit and leaves the rest to the next run", async () => {
		await insertEventRows(eventsFrom(5, 80));
		const report = await enforceBudget(budgetEnv(1), NOW, undefined, { chunkRows: 2, maxRounds: 3 });
		expect(report).toMatchObject({ evicted: 6, outcome: "round_limit" });
		expect(report.sizeBytes).toBeGreaterThan(MB);
	});

	it("warns at 80 % of the budget and evicts nothing under it", async () => {
		const ids: string[] = [];
		// Fill to between 1.7 and 2 MB: 85–100 % of a 2 MB budget.
		while ((await readStorage(env.DB)).sizeBytes < 1.7 * MB) ids.push(...(await insertEventRows(eventsFrom(3, 5))));
		const { sizeBytes } = await readStorage(env.DB);
		expect(sizeBytes).toBeLessThan(2 * MB);

		const near = await enforceBudget(budgetEnv(2), NOW, undefined, CHUNK);
		expect(near).toEqual({
			sizeBytes,
			budgetBytes: 2 * MB,
			evicted: 0,
			historyFrom: eventsFrom(3, 1)[0]?.eventTime,
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
		await enforceBudget(budgetEnv(3), NOW, undefined, CHUNK);
		expect(linesOf(warn)).toEqual([]);
	});

	it("reports an empty table as no history", async () => {
		const report = await enforceBudget(env, NOW, undefined);
		expect(report).toMatchObject({ evicted: 0, historyFrom: null, budgetBytes: 8000 * MB, outcome: "within_budget" });
	});
});
