import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/db/event-body";
import { listEvents, readMessageEvents } from "../../src/db/event-list.repository";
import {
	COMPOUND_MAX_TERMS,
	createEventTable,
	eventTableEnd,
	eventTableOf,
	eventTableStart,
	listEventTables,
	UNION_MAX_TABLES,
} from "../../src/db/event-tables";
import { type EventRow, getNormalizedJson, insertEvents, readEventsWithin } from "../../src/db/events.repository";
import { recipientStatuses } from "../../src/db/message-status.repository";
import { deadEventIds } from "../../src/db/replay-claims.repository";
import { rowsOfEvents } from "../../src/db/replay-rows.repository";
import { readStats } from "../../src/db/stats.repository";
import { readStorage } from "../../src/db/storage.repository";
import { eraseMessagesFromD1 } from "../../src/erase/erasure.repository";
import { clearTables, eventTables, insertDeliveryRow, insertLegacyEventRows } from "../helpers/d1-rows";
import { newMessageId } from "../helpers/fixtures";

const DAY_MS = 24 * 60 * 60 * 1000;

/** A row of a message, received `daysAgo` before now, its own time an hour before that. */
function rowOf(
	messageId: string,
	sequence: number,
	daysAgo: number,
	status: EventRow["status"],
	rank: number,
): EventRow {
	const receivedAt = new Date(Date.now() - daysAgo * DAY_MS).toISOString();
	const id = `evt_${crypto.randomUUID().replaceAll("-", "").slice(0, 26)}`;
	return {
		id,
		message_id: messageId,
		sequence,
		type: `bandwidth.message.${status}`,
		direction: "outbound",
		recipient: "+15550002222",
		from_number: "+15550001111",
		participants: null,
		owner: "+15550001111",
		application_id: null,
		error_code: null,
		event_time: new Date(Date.parse(receivedAt) - 3600_000).toISOString(),
		received_at: receivedAt,
		status,
		status_rank: rank,
		normalized_json: JSON.stringify({ id, subject: messageId, data: { sequence } }),
	};
}

async function store(rows: readonly EventRow[]): Promise<void> {
	await insertEvents(env.DB, rows, await Promise.all(rows.map((row) => encodeEvent(row.normalized_json))));
}

beforeEach(clearTables);

describe("D1's event tables", () => {
	it("files an event under the quarter of its hour, and lists quarters and the older day tables by start", async () => {
		expect(eventTableOf("2026-12-01T00")).toBe("events_2026120100");
		expect(eventTableOf("2026-12-01T05:59:59.999Z")).toBe("events_2026120100");
		expect(eventTableOf("2026-12-01T06:00:00.000Z")).toBe("events_2026120106");
		expect(eventTableOf("2026-12-01T23")).toBe("events_2026120118");
		expect([eventTableStart("events_2026120118"), eventTableEnd("events_2026120118")]).toEqual([
			Date.parse("2026-12-01T18:00:00Z"),
			Date.parse("2026-12-02T00:00:00Z"),
		]);
		// A day table, as a relay deployed before quarters wrote them: a whole day.
		expect([eventTableStart("events_20261201"), eventTableEnd("events_20261201")]).toEqual([
			Date.parse("2026-12-01T00:00:00Z"),
			Date.parse("2026-12-02T00:00:00Z"),
		]);
		expect(eventTableStart("events_2026120")).toBeNull();
		const names = ["events_2026120200", "events_20261201", "events_2026120118", "events_2026113018"];
		const others = ["events_2026120", "events_20261201x", "events_2026120100_old", "events_tmp"];
		await env.DB.batch([...names, ...others].map((name) => createEventTable(env.DB, name)));
		try {
			expect(await listEventTables(env.DB)).toEqual([
				"events_2026113018",
				"events_20261201",
				"events_2026120118",
				"events_2026120200",
			]);
			expect((await readStorage(env.DB)).historyFrom).toBe("2026-11-30T18:00:00.000Z");
		} finally {
			await env.DB.batch(others.map((name) => env.DB.prepare(`DROP TABLE ${name}`)));
		}
	});

	it("files each event under its quarter, creates a quarter's table with its first event, and again once dropped", async () => {
		const messageId = newMessageId();
		const [older, newer] = [rowOf(messageId, 1, 3, "sending", 1), rowOf(messageId, 2, 0, "delivered", 3)];
		await store([older!, newer!]);
		expect(await eventTables()).toEqual([eventTableOf(older!.received_at), eventTableOf(newer!.received_at)]);

		// Dropped behind this isolate's back (the budget emptied it): the next write creates it again.
		await env.DB.exec(`DROP TABLE ${eventTableOf(newer!.received_at)}`);
		const again = rowOf(messageId, 3, 0, "delivered", 3);
		await store([again]);
		expect((await readMessageEvents(env.DB, messageId)).map((row) => row.id)).toEqual([older!.id, again.id]);
		// Stored again, the same event is left as it is: one row.
		await store([again]);
		expect(await readMessageEvents(env.DB, messageId)).toHaveLength(2);
	});

	it("reads a message across its tables and the legacy table, and derives its status from all of them", async () => {
		const messageId = newMessageId();
		// Delivered first, a late `sending` the next day: the status stays delivered.
		const delivered = rowOf(messageId, 1, 2, "delivered", 3);
		const lateSending = rowOf(messageId, 2, 1, "sending", 1);
		await store([delivered, lateSending]);
		const events = await readMessageEvents(env.DB, messageId);
		expect(events.map((row) => [row.sequence, row.source])).toEqual([
			[1, eventTableOf(delivered.received_at)],
			[2, eventTableOf(lateSending.received_at)],
		]);
		expect(recipientStatuses(events)).toEqual([
			{
				recipient: "+15550002222",
				status: "delivered",
				lastEventId: delivered.id,
				errorCode: null,
				updatedAt: delivered.received_at,
			},
		]);
		const [legacy = ""] = await insertLegacyEventRows([{ eventTime: new Date().toISOString() }]);
		expect((await readMessageEvents(env.DB, `msg-${legacy}`)).map((row) => row.source)).toEqual(["events"]);
		expect(await getNormalizedJson(env.DB, legacy, `msg-${legacy}`)).toContain(legacy);
		expect(await getNormalizedJson(env.DB, lateSending.id)).toBe(lateSending.normalized_json);
	});

	it(`reads more tables than D1 takes in a compound SELECT (${COMPOUND_MAX_TERMS}), and than one statement reads (${UNION_MAX_TABLES})`, async () => {
		const messageId = newMessageId();
		const days = UNION_MAX_TABLES + 30;
		await env.DB.batch(
			Array.from({ length: days }, (_, day) =>
				createEventTable(env.DB, eventTableOf(new Date(Date.now() - day * DAY_MS).toISOString())),
			),
		);
		const first = rowOf(messageId, 1, days - 1, "sending", 1);
		const last = rowOf(messageId, 2, 0, "delivered", 3);
		await store([first, last]);
		expect((await listEventTables(env.DB)).length).toBe(days);
		expect((await readMessageEvents(env.DB, messageId)).map((row) => row.id)).toEqual([first.id, last.id]);
		expect((await listEvents(env.DB, { from: "+15550001111" }, 10)).map((row) => row.id)).toEqual([first.id, last.id]);
		const page = await listEvents(env.DB, { from: "+15550001111" }, 10);
		expect(await readEventsWithin(env.DB, page, 1_000_000)).toEqual({
			events: [JSON.parse(first.normalized_json), JSON.parse(last.normalized_json)],
			consumed: 2,
			unreadable: [],
		});
		await insertDeliveryRow(first.id, "dead", new Date().toISOString(), messageId);
		const stats = await readStats(env.DB, new Date(Date.now() - 2 * DAY_MS).toISOString());
		expect(stats.events.byType).toEqual({ "bandwidth.message.delivered": 1 });
		expect(stats.events.byStatus).toEqual({ delivered: 1 });
		expect(stats.dead).toBe(1);
		expect(await deadEventIds(env.DB, new Date(), 10)).toEqual([first.id]);
		// One known by its deliveries row (a lookup by key), one not (a scan of every table).
		const rows = await rowsOfEvents(
			env.DB,
			[
				{ id: first.id, messageId },
				{ id: last.id, messageId: null },
			],
			10,
		);
		expect(rows.map((row) => row.id)).toEqual([first.id, last.id]);
		expect(await eraseMessagesFromD1(env.DB, [messageId])).toMatchObject({ events: 2, deliveries: 1 });
		expect(await readMessageEvents(env.DB, messageId)).toEqual([]);
	});
});
