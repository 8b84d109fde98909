import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { attemptDays } from "../../src/db/attempts.repository";
import { deleteOldestLegacyEvents } from "../../src/db/event-expiry.repository";
import { eventTableOf } from "../../src/db/event-tables";
import { insertQuarantine, markReprocessed, type ReprocessOutcome } from "../../src/db/quarantine.repository";
import { purgeExpired, purgeRetention } from "../../src/maintenance/purge-expired";
import {
	clearTables,
	columnOf,
	eventIdsHeld,
	eventTables,
	insertDeliveryRow,
	insertEventRows,
	insertFirstTries,
	insertLegacyEventRows,
} from "../helpers/d1-rows";

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * The cron's scheduled time in these tests; wrangler.toml's RETENTION_DAYS (30) puts the cutoff at
 * 2031-05-02. No archive and no ledger bound unless a test gives one.
 */
const NOW = Date.parse("2031-06-01T00:00:00.000Z");
const CUTOFF = "2031-05-02T00:00:00.000Z";
const daysAgo = (days: number) => new Date(NOW - days * DAY_MS).toISOString();

async function quarantineRow(
	label: string,
	receivedAt: string,
	reprocessed?: { at: string; outcome: ReprocessOutcome },
): Promise<string> {
	const id = `qtn_${label.padEnd(26, "a")}`;
	await env.DB.batch(insertQuarantine(env.DB, [{ id, received_at: receivedAt, reason: "test", raw_json: "{}" }]));
	if (reprocessed) await markReprocessed(env.DB, id, reprocessed.at, reprocessed.outcome, null);
	return id;
}

const deliveryEventIds = () => columnOf<string>("SELECT event_id FROM deliveries ORDER BY id", "event_id");
const firstTryDays = () => attemptDays(env.DB);
const quarantineIds = () => columnOf<string>("SELECT id FROM quarantine ORDER BY id", "id");

beforeEach(clearTables);
afterEach(() => {
	vi.restoreAllMocks();
});

describe("retention purge", () => {
	it("drops each day older than RETENTION_DAYS with its events' deliveries rows, and keeps the rest", async () => {
		const [old = "", recent = "", lateReceipt = ""] = await insertEventRows([
			{ eventTime: daysAgo(40) },
			{ eventTime: daysAgo(1) },
			// A delivery receipt that arrived long after its event: filed under its receipt, D1 keeps it
			// RETENTION_DAYS from then.
			{ eventTime: daysAgo(40), receivedAt: daysAgo(1) },
		]);
		await insertDeliveryRow(old, "dead", daysAgo(39));
		// Replayed yesterday: the row goes with its event, whatever its own age.
		await insertDeliveryRow(old, "replayed", daysAgo(1));
		await insertDeliveryRow(recent, "failed", daysAgo(1));
		await insertDeliveryRow("evt_gone", "dead", daysAgo(35));
		// First tries go a day at a time, once the day's events have all gone: the day of the cutoff stays.
		await insertFirstTries(daysAgo(40), [old]);
		await insertFirstTries(CUTOFF, ["evt_receivedatcutoff"]);
		await insertFirstTries(daysAgo(1), [recent, lateReceipt]);
		// Quarantine rows go by their receipt, whatever became of them: garbage never outlives retention.
		const resolvedOld = await quarantineRow("resolvedold", daysAgo(40), { at: daysAgo(31), outcome: "stored" });
		const stillInvalidOld = await quarantineRow("stillinvalidold", daysAgo(40), {
			at: daysAgo(1),
			outcome: "still_invalid",
		});
		const neverReprocessedOld = await quarantineRow("neverreprocessedold", daysAgo(31));
		const neverReprocessed = await quarantineRow("neverreprocessed", daysAgo(29));
		const resolvedRecent = await quarantineRow("resolvedrecent", daysAgo(2), { at: daysAgo(1), outcome: "stored" });

		const result = await purgeRetention(env, NOW, { archivedBefore: undefined });

		expect(result).toEqual({
			ok: true,
			value: {
				cutoff: CUTOFF,
				eventsBefore: CUTOFF,
				deleted: { events: 1, deliveries: 3, quarantine: 3 },
				attemptDaysDropped: ["20310422"],
				// The old day's deliveries rows, then the day itself.
				rounds: 2,
				complete: true,
			},
		});
		// One day table left, in key order.
		expect(await eventIdsHeld()).toEqual([recent, lateReceipt]);
		expect(await eventTables()).toEqual([eventTableOf(daysAgo(1))]);
		expect(await deliveryEventIds()).toEqual([recent]);
		expect(await firstTryDays()).toEqual(["20310502", "20310531"]);
		expect(await quarantineIds()).toEqual([neverReprocessed, resolvedRecent].sort());
		for (const id of [resolvedOld, stillInvalidOld, neverReprocessedOld])
			expect(await quarantineIds()).not.toContain(id);
	});

	it("never deletes an event the archive does not hold yet; a later run takes it", async () => {
		const [, received35 = "", received32 = ""] = await insertEventRows([
			{ eventTime: daysAgo(40) },
			{ eventTime: daysAgo(35) },
			{ eventTime: daysAgo(32) },
		]);
		// Replayed within retention: kept while its event is, and deleted with it.
		await insertDeliveryRow(received35, "replayed", daysAgo(20));

		const behind = await purgeRetention(env, NOW, { archivedBefore: daysAgo(36) });
		expect(behind).toMatchObject({ ok: true, value: { eventsBefore: daysAgo(36), deleted: { events: 1 } } });
		expect(await eventIdsHeld()).toEqual([received35, received32]);
		expect(await deliveryEventIds()).toEqual([received35]);

		const caughtUp = await purgeRetention(env, NOW, { archivedBefore: daysAgo(0.5) });
		// The archive is ahead of the cutoff now: retention decides again.
		expect(caughtUp).toMatchObject({
			ok: true,
			value: { eventsBefore: CUTOFF, deleted: { events: 2, deliveries: 1 } },
		});
		expect(await eventIdsHeld()).toEqual([]);
	});

	it("compares archivedBefore as a time, not as text, and keeps every event when it is not a time", async () => {
		// As text "…04:00:00Z" sorts after "…04:00:00.500Z", which would let this unarchived event of
		// the legacy table go; its day's table is not whole before it either.
		const [legacy = ""] = await insertLegacyEventRows([{ eventTime: "2031-04-01T04:00:00.500Z" }]);
		const [id = ""] = await insertEventRows([{ eventTime: "2031-04-01T04:00:00.500Z" }]);
		const report = await purgeRetention(env, NOW, { archivedBefore: "2031-04-01T04:00:00Z" });
		expect(report).toMatchObject({ ok: true, value: { eventsBefore: "2031-04-01T04:00:00.000Z" } });
		expect(await eventIdsHeld()).toEqual([legacy, id]);

		const error = vi.spyOn(console, "error").mockImplementation(() => {});
		await purgeRetention(env, NOW, { archivedBefore: "yesterday" });
		expect(await eventIdsHeld()).toEqual([legacy, id]);
		expect(error.mock.calls.map(([line]) => JSON.parse(String(line)).event)).toContain("archive_horizon_invalid");
	});

	it("takes a day's deliveries rows in bounded chunks before the day, and leaves the rest for the next run", async () => {
		// Three days of four events, each with two deliveries rows: a day is two chunks of rows and its drop.
		const ids = await insertEventRows(
			[45, 44, 43].flatMap((days) => Array.from({ length: 4 }, (_, i) => ({ eventTime: daysAgo(days - i / 24) }))),
		);
		for (const id of ids) {
			await insertDeliveryRow(id, "dead", daysAgo(1));
			await insertDeliveryRow(id, "replayed", daysAgo(1));
		}
		const bounds = { cutoff: CUTOFF, archivedBefore: undefined };

		const first = await purgeExpired(env.DB, bounds, { chunkRows: 5, maxRounds: 4 });
		expect(first).toEqual({
			cutoff: CUTOFF,
			eventsBefore: CUTOFF,
			// The first day (5 + 3 rows, then its drop) and the first chunk of the second.
			deleted: { events: 4, deliveries: 13, quarantine: 0 },
			// Expired events are left: their days' first tries stay with them.
			attemptDaysDropped: [],
			rounds: 4,
			complete: false,
		});
		// Oldest day first; no deliveries row outlives its event.
		expect(await eventIdsHeld()).toEqual(ids.slice(4));
		expect((await deliveryEventIds()).every((id) => ids.slice(4).includes(id))).toBe(true);

		const second = await purgeExpired(env.DB, bounds, { chunkRows: 5, maxRounds: 100 });
		expect(second).toMatchObject({ deleted: { events: 8, deliveries: 11 }, complete: true });
		expect(await eventIdsHeld()).toEqual([]);
		expect(await eventTables()).toEqual([]);
	});

	it("empties the legacy table on its index, as before the day tables, then drops it", async () => {
		const legacy = await insertLegacyEventRows([
			{ eventTime: daysAgo(50) },
			{ eventTime: daysAgo(40) },
			{ eventTime: daysAgo(20) },
		]);
		await insertDeliveryRow(legacy[0] ?? "", "dead", daysAgo(1));
		const bounds = { cutoff: CUTOFF, archivedBefore: undefined };
		const first = await purgeExpired(env.DB, bounds, { chunkRows: 1, maxRounds: 10 });
		expect(first).toMatchObject({ deleted: { events: 2, deliveries: 1 }, complete: true });
		expect(await eventIdsHeld()).toEqual([legacy[2]]);

		// Twenty days on, the last one goes too, and with it the table.
		const later = { cutoff: daysAgo(10), archivedBefore: undefined };
		expect(await purgeExpired(env.DB, later)).toMatchObject({ deleted: { events: 1 }, complete: true });
		expect(await columnOf<string>("SELECT name FROM sqlite_master WHERE name = 'events'", "name")).toEqual([]);
	});

	it("drops a whole table with no row written, however many events it holds", async () => {
		// 300 events over about an hour and a half: one quarter's table.
		await insertEventRows(Array.from({ length: 300 }, (_, i) => ({ eventTime: daysAgo(40 - i / 5000) })));
		const table = eventTableOf(daysAgo(40));
		const [count, drop] = await env.DB.batch([
			env.DB.prepare(`SELECT count(*) AS n FROM ${table}`),
			env.DB.prepare(`DROP TABLE ${table}`),
		]);
		expect(count?.results[0]).toEqual({ n: 300 });
		// What D1 reports, and what the meter counts: no row written (the schema's rows are read).
		expect(drop?.meta.rows_written).toBe(0);
		expect(await eventIdsHeld()).toEqual([]);
	});

	it("never drops a day whose events a ledger may still look for in D1", async () => {
		const ids = await insertEventRows([{ eventTime: daysAgo(40) }, { eventTime: daysAgo(35) }]);
		// A ledger has yet to account for handoffs it accepted 37 days ago (D1 refused its reads since).
		const held = await purgeRetention(env, NOW, { archivedBefore: undefined, verifiedBefore: daysAgo(37) });
		expect(held).toMatchObject({ ok: true, value: { deleted: { events: 1 } } });
		expect(await eventIdsHeld()).toEqual([ids[1]]);
		// A ledger that did not answer holds everything.
		await insertEventRows([{ eventTime: daysAgo(40) }]);
		const unanswered = await purgeRetention(env, NOW, { archivedBefore: undefined, verifiedBefore: "" });
		expect(unanswered).toMatchObject({ ok: true, value: { deleted: { events: 0 } } });
	});

	it("purges quarantine rows oldest first by receipt, in bounded chunks, however they were reprocessed", async () => {
		const old = [];
		for (const [index, days] of [45, 44, 43, 42, 41].entries()) {
			old.push(
				await quarantineRow(
					`chunk${index}`,
					daysAgo(days),
					index % 2 === 0 ? undefined : { at: daysAgo(1), outcome: "still_invalid" },
				),
			);
		}
		const kept = await quarantineRow("chunkkept", daysAgo(3));
		const bounds = { cutoff: CUTOFF, archivedBefore: undefined };

		const first = await purgeExpired(env.DB, bounds, { chunkRows: 2, maxRounds: 2 });
		expect(first).toMatchObject({ deleted: { quarantine: 4 }, complete: false });
		expect(await quarantineIds()).toEqual([old[4], kept].sort());
		const second = await purgeExpired(env.DB, bounds, { chunkRows: 2, maxRounds: 2 });
		expect(second).toMatchObject({ deleted: { quarantine: 1 }, complete: true });
		expect(await quarantineIds()).toEqual([kept]);
	});

	it("walks deliveries in id order and stops at the first row newer than the cutoff", async () => {
		for (const days of [45, 44, 43, 42, 2, 1]) await insertDeliveryRow("evt_elsewhere", "dead", daysAgo(days));
		const report = await purgeExpired(
			env.DB,
			{ cutoff: CUTOFF, archivedBefore: undefined },
			{ chunkRows: 2, maxRounds: 10 },
		);
		expect(report.deleted.deliveries).toBe(4);
		// Rounds 1 and 2 take two old rows each; round 3 meets the newer rows and ends the walk.
		expect(report.rounds).toBe(3);
		expect(await columnOf<string>("SELECT at FROM deliveries ORDER BY id", "at")).toEqual([daysAgo(2), daysAgo(1)]);
	});

	it("reads the expired legacy events a chunk deletes, not the rest of the table", async () => {
		await insertLegacyEventRows(Array.from({ length: 300 }, (_, i) => ({ eventTime: daysAgo(10 - i / 100) })));
		await insertLegacyEventRows([
			{ eventTime: daysAgo(50) },
			{ eventTime: daysAgo(49) },
			{ eventTime: daysAgo(40), receivedAt: daysAgo(1) },
		]);
		const chunk = deleteOldestLegacyEvents(env.DB, CUTOFF, 1000);
		const [deliveries, events] = await env.DB.batch([chunk.deliveries, chunk.events]);
		expect(events?.meta.changes).toBe(2);
		// Through events_time: the three entries before the cutoff, one past it, and their table rows.
		expect(events?.meta.rows_read).toBeGreaterThan(0);
		expect(events?.meta.rows_read).toBeLessThan(20);
		expect(deliveries?.meta.rows_read).toBeLessThan(20);
	});

	it("purges nothing that is not older than the cutoff", async () => {
		const ids = await insertEventRows([{ eventTime: daysAgo(29) }, { eventTime: daysAgo(1) }]);
		await insertDeliveryRow(ids[1] ?? "", "dead", daysAgo(1));
		const report = await purgeRetention(env, NOW, { archivedBefore: undefined });
		expect(report).toMatchObject({
			ok: true,
			value: { deleted: { events: 0, deliveries: 0, quarantine: 0 }, rounds: 1, complete: true },
		});
		expect(await eventIdsHeld()).toEqual(ids);
		expect(await deliveryEventIds()).toEqual([ids[1]]);
	});

	it("deletes nothing while RETENTION_DAYS is invalid, and says so", async () => {
		const ids = await insertEventRows([{ eventTime: daysAgo(400) }]);
		const error = vi.spyOn(console, "error").mockImplementation(() => {});
		const result = await purgeRetention({ ...env, RETENTION_DAYS: "a month" }, NOW, { archivedBefore: undefined });
		expect(result).toEqual({ ok: false, reason: "config_invalid" });
		expect(await eventIdsHeld()).toEqual(ids);
		expect(error).toHaveBeenCalledWith(expect.stringContaining('"event":"config_invalid"'));
	});
});

describe("a retention shorter than the retry schedule", () => {
	it("keeps an event until its retry schedule is over and a day more, whatever RETENTION_DAYS says", async () => {
		const now = Date.parse("2026-12-01T12:00:00.000Z");
		const day = 24 * 60 * 60 * 1000;
		// Received 4 days ago; RETENTION_DAYS=2 would take it, but a 7-day schedule runs 8.4 days.
		const [id] = await insertEventRows([{ eventTime: new Date(now - 4 * day).toISOString() }]);
		const week = "86400,86400,86400,86400,86400,86400,86400";
		const result = await purgeRetention({ ...env, RETENTION_DAYS: "2", FORWARD_RETRY_SCHEDULE: week }, now, {
			archivedBefore: undefined,
		});
		expect(result.ok && result.value.cutoff).toBe(new Date(now - 10 * day).toISOString());
		expect(await eventIdsHeld()).toContain(id);
	});
});
