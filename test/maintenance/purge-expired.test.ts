import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { attemptDays } from "../../src/db/attempts.repository";
import { deleteOldestEvents } from "../../src/db/events.repository";
import { insertQuarantine, markReprocessed, type ReprocessOutcome } from "../../src/db/quarantine.repository";
import { purgeExpired, purgeRetention } from "../../src/maintenance/purge-expired";
import {
	clearTables,
	columnOf,
	eventIdsHeld,
	insertDeliveryRow,
	insertEventRows,
	insertFirstTries,
} from "../helpers/d1-rows";

const DAY_MS = 24 * 60 * 60 * 1000;
/** The cron's scheduled time in these tests; wrangler.toml's RETENTION_DAYS (30) puts the cutoff at 2031-05-02. */
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
	it("deletes what is older than RETENTION_DAYS, each event with its deliveries rows, and keeps the rest", async () => {
		const [old = "", recent = "", lateReceipt = ""] = await insertEventRows([
			{ eventTime: daysAgo(40) },
			{ eventTime: daysAgo(1) },
			// A delivery receipt that arrived long after its event: D1 keeps it RETENTION_DAYS from receipt.
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

		const result = await purgeRetention(env, NOW, undefined);

		expect(result).toEqual({
			ok: true,
			value: {
				cutoff: CUTOFF,
				eventsBefore: CUTOFF,
				deleted: { events: 1, deliveries: 3, quarantine: 3 },
				attemptDaysDropped: ["20310422"],
				rounds: 1,
				complete: true,
			},
		});
		expect(await eventIdsHeld()).toEqual([lateReceipt, recent]);
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

		const behind = await purgeRetention(env, NOW, daysAgo(36));
		expect(behind).toMatchObject({ ok: true, value: { eventsBefore: daysAgo(36), deleted: { events: 1 } } });
		expect(await eventIdsHeld()).toEqual([received35, received32]);
		expect(await deliveryEventIds()).toEqual([received35]);

		const caughtUp = await purgeRetention(env, NOW, daysAgo(0.5));
		// The archive is ahead of the cutoff now: retention decides again.
		expect(caughtUp).toMatchObject({
			ok: true,
			value: { eventsBefore: CUTOFF, deleted: { events: 2, deliveries: 1 } },
		});
		expect(await eventIdsHeld()).toEqual([]);
	});

	it("compares archivedBefore as a time, not as text, and keeps every event when it is not a time", async () => {
		// As text "…04:00:00Z" sorts after "…04:00:00.500Z", which would let this unarchived event go.
		const [id = ""] = await insertEventRows([{ eventTime: "2031-04-01T04:00:00.500Z" }]);
		const report = await purgeRetention(env, NOW, "2031-04-01T04:00:00Z");
		expect(report).toMatchObject({ ok: true, value: { eventsBefore: "2031-04-01T04:00:00.000Z" } });
		expect(await eventIdsHeld()).toEqual([id]);

		const error = vi.spyOn(console, "error").mockImplementation(() => {});
		await purgeRetention(env, NOW, "yesterday");
		expect(await eventIdsHeld()).toEqual([id]);
		expect(error.mock.calls.map(([line]) => JSON.parse(String(line)).event)).toContain("archive_horizon_invalid");
	});

	it("deletes in bounded chunks and leaves the rest for the next run", async () => {
		const ids = await insertEventRows(Array.from({ length: 12 }, (_, i) => ({ eventTime: daysAgo(60 - i) })));
		for (const id of ids) await insertDeliveryRow(id, "replayed", daysAgo(1));
		const bounds = { cutoff: CUTOFF, archivedBefore: undefined };

		const first = await purgeExpired(env.DB, bounds, { chunkRows: 5, maxRounds: 2 });
		expect(first).toEqual({
			cutoff: CUTOFF,
			eventsBefore: CUTOFF,
			deleted: { events: 10, deliveries: 10, quarantine: 0 },
			// Expired events are left: their days' first tries stay with them.
			attemptDaysDropped: [],
			rounds: 2,
			complete: false,
		});
		// Oldest first.
		expect(await eventIdsHeld()).toEqual(ids.slice(10));
		expect(await deliveryEventIds()).toEqual(ids.slice(10));

		const second = await purgeExpired(env.DB, bounds, { chunkRows: 5, maxRounds: 2 });
		expect(second).toMatchObject({ deleted: { events: 2, deliveries: 2 }, rounds: 1, complete: true });
		expect(await eventIdsHeld()).toEqual([]);
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

	it("reads the expired events a chunk deletes, not the rest of the table", async () => {
		await insertEventRows(Array.from({ length: 300 }, (_, i) => ({ eventTime: daysAgo(10 - i / 100) })));
		await insertEventRows([
			{ eventTime: daysAgo(50) },
			{ eventTime: daysAgo(49) },
			{ eventTime: daysAgo(40), receivedAt: daysAgo(1) },
		]);
		const chunk = deleteOldestEvents(env.DB, CUTOFF, 1000);
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
		const report = await purgeRetention(env, NOW, undefined);
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
		const result = await purgeRetention({ ...env, RETENTION_DAYS: "a month" }, NOW, undefined);
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
		const result = await purgeRetention({ ...env, RETENTION_DAYS: "2", FORWARD_RETRY_SCHEDULE: week }, now, undefined);
		expect(result.ok && result.value.cutoff).toBe(new Date(now - 10 * day).toISOString());
		const left = await env.DB.prepare("SELECT id FROM events WHERE id = ?1").bind(id).first();
		expect(left).not.toBeNull();
	});
});
