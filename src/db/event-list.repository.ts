import type { MessageStatus } from "../bandwidth/event-types";
import { tablesFrom, unionsOf, withEventTables } from "./event-tables";
import { type EventPageRow, type EventRow, pageColumns } from "./events.repository";
import { messageIdsOf } from "./replay-rows.repository";

/*
 * The admin API's reads of events across the event tables (src/db/event-tables.ts). By message they
 * are lookups on each table's key; by anything else, scans of the tables the time filter allows,
 * each bounded by the page size: D1 bills rows read at a thousandth of rows written.
 */

export interface EventFilter {
	messageId?: string | undefined;
	type?: string | undefined;
	direction?: string | undefined;
	from?: string | undefined;
	recipient?: string | undefined;
	/** Inclusive, UTC ISO like `event_time`. */
	since?: string | undefined;
	/** Exclusive. */
	until?: string | undefined;
	/** Keyset position: only rows after this (event_time, id), in the listing's order. */
	after?: readonly [eventTime: string, id: string] | undefined;
	/** One event, by its id. */
	eventId?: string | undefined;
	/** The event's sender, recipient or owner: not indexed, so read within the time range. */
	number?: string | undefined;
	/** Newest first instead of oldest first. */
	newestFirst?: boolean | undefined;
}

const byTimeAndId = (a: EventPageRow, b: EventPageRow) =>
	a.event_time < b.event_time ? -1 : a.event_time > b.event_time ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/**
 * The conditions of the filters added for the console's search (eventId, number). An event id
 * whose deliveries rows name its message is looked up by key; otherwise it is a condition of the
 * scan, as a number is.
 */
async function searchConditions(
	db: D1Database,
	filter: EventFilter,
	bind: (value: unknown) => string,
): Promise<string[]> {
	const where: string[] = [];
	if (filter.eventId !== undefined) {
		where.push(`id = ${bind(filter.eventId)}`);
		const message =
			filter.messageId === undefined ? (await messageIdsOf(db, [filter.eventId])).get(filter.eventId) : undefined;
		if (message !== undefined) where.push(`message_id = ${bind(message)}`);
	}
	if (filter.number !== undefined) {
		const number = bind(filter.number);
		where.push(`(from_number = ${number} OR recipient = ${number} OR owner = ${number})`);
	}
	return where;
}

/**
 * Ordered by (event_time, id), oldest or newest first. Each table gives its first `limit` rows, and
 * the page is the first `limit` of them all: tables are filed by receipt, so an event's time does not say which table
 * holds it, except that it is not older than its receipt's day less one (tablesFrom), which
 * `since` uses. The cursor does not: a page after it reads the tables the first page read, so
 * paging never loses an event the first page could have shown.
 */
export async function listEvents(db: D1Database, filter: EventFilter, limit: number): Promise<EventPageRow[]> {
	const params: unknown[] = [];
	const bind = (value: unknown) => `?${params.push(value)}`;
	const where: string[] = [];
	if (filter.messageId !== undefined) where.push(`message_id = ${bind(filter.messageId)}`);
	if (filter.type !== undefined) where.push(`type = ${bind(filter.type)}`);
	if (filter.direction !== undefined) where.push(`direction = ${bind(filter.direction)}`);
	if (filter.from !== undefined) where.push(`from_number = ${bind(filter.from)}`);
	if (filter.recipient !== undefined) where.push(`recipient = ${bind(filter.recipient)}`);
	if (filter.since !== undefined) where.push(`event_time >= ${bind(filter.since)}`);
	if (filter.until !== undefined) where.push(`event_time < ${bind(filter.until)}`);
	const direction = filter.newestFirst === true ? { after: "<", order: "DESC" } : { after: ">", order: "ASC" };
	if (filter.after !== undefined) {
		where.push(`(event_time, id) ${direction.after} (${bind(filter.after[0])}, ${bind(filter.after[1])})`);
	}
	where.push(...(await searchConditions(db, filter, bind)));
	const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
	const limitParam = bind(limit);
	const inOrder = filter.newestFirst === true ? (a: EventPageRow, b: EventPageRow) => byTimeAndId(b, a) : byTimeAndId;
	return withEventTables(db, async (tables) => {
		const statements = unionsOf(
			tablesFrom(tables, filter.since),
			(table) => `SELECT ${pageColumns(table)} FROM ${table} ${clause}`,
		).map((union) =>
			db
				.prepare(
					`SELECT * FROM (${union}) ORDER BY event_time ${direction.order}, id ${direction.order} LIMIT ${limitParam}`,
				)
				.bind(...params),
		);
		if (statements.length === 0) return [];
		const results = await db.batch<EventPageRow>(statements);
		return results
			.flatMap((result) => result.results)
			.sort(inOrder)
			.slice(0, limit);
	});
}

/** A message's event as the message view needs it: its place, and what it says about its recipient. */
export type MessageEventRow = EventPageRow &
	Pick<EventRow, "recipient" | "error_code" | "received_at"> & {
		status: MessageStatus | null;
		status_rank: number | null;
	};

/** The statements that read every event of a message without its body (one per group of tables), for a batch. */
export function selectMessageEvents(
	db: D1Database,
	tables: readonly string[],
	messageId: string,
): D1PreparedStatement[] {
	return unionsOf(
		tables,
		(table) =>
			`SELECT ${pageColumns(table)}, recipient, status, status_rank, error_code, received_at
			 FROM ${table} WHERE message_id = ?1`,
	).map((union) => db.prepare(union).bind(messageId));
}

/**
 * The rows those statements answered, by sequence. An event found in two tables (stored again
 * after migration 0006 by a copy that straddled it) is answered once.
 */
export function messageEventsOf(results: readonly D1Result[]): MessageEventRow[] {
	const byId = new Map<string, MessageEventRow>();
	for (const row of results.flatMap((result) => result.results as MessageEventRow[])) {
		if (!byId.has(row.id)) byId.set(row.id, row);
	}
	return [...byId.values()].sort((a, b) => a.sequence - b.sequence || (a.id < b.id ? -1 : 1));
}

/** Every event of a message without its body, by sequence. */
export function readMessageEvents(db: D1Database, messageId: string): Promise<MessageEventRow[]> {
	return withEventTables(db, async (tables) => {
		const statements = selectMessageEvents(db, tables, messageId);
		return statements.length === 0 ? [] : messageEventsOf(await db.batch(statements));
	});
}
