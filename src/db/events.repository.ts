import { type MessageStatus, STATUS_RANK } from "../bandwidth/event-types";
import type { NormalizedEvent } from "../bandwidth/normalize";
import { errorMessage, log } from "../log";
import { decodeEvent } from "./event-body";
import {
	batchIntoEventTables,
	eventTableOf,
	isNoSuchEventTable,
	listEventTables,
	unionsOf,
	withEventTables,
} from "./event-tables";
import { countWithin } from "./row-size";

/** One event row of D1 (an event table, src/db/event-tables.ts). The ledger keeps the same shape. */
export interface EventRow {
	id: string;
	message_id: string;
	sequence: number;
	type: string;
	direction: string | null;
	recipient: string;
	from_number: string | null;
	owner: string | null;
	application_id: string | null;
	error_code: number | null;
	event_time: string;
	received_at: string;
	status: MessageStatus | null;
	status_rank: number | null;
	/** message.to less the recipient, as a JSON array; null when there is no other (src/db/event-tables.ts). */
	participants: string | null;
	normalized_json: string;
	/**
	 * The destinations routed to when it was accepted (src/destinations/route-event.ts); absent or
	 * null for an event from before there were several, which goes to "default" as FORWARD_* say.
	 */
	destinations?: string[] | null;
}

/** The ledger assigns the sequence; until then the JSON carries this placeholder in its place. */
export const SEQUENCE_PLACEHOLDER = '"sequence":0,';

export function withSequence(normalizedJson: string, sequence: number): string {
	// The first match is the key: inside a JSON string a quote is always escaped, so the
	// placeholder cannot occur in a value that precedes it.
	return normalizedJson.replace(SEQUENCE_PLACEHOLDER, `"sequence":${sequence},`);
}

/** The row for an event whose sequence the ledger has yet to assign. */
export function eventRecordOf(event: NormalizedEvent, eventTime: string): Omit<EventRow, "sequence" | "destinations"> {
	const { data } = event;
	return {
		id: event.id,
		message_id: data.messageId,
		type: event.type,
		direction: data.direction,
		recipient: data.recipient,
		from_number: data.from,
		owner: data.owner,
		application_id: data.applicationId,
		error_code: data.error?.code ?? null,
		event_time: eventTime,
		received_at: data.receivedAt,
		status: data.status,
		status_rank: data.status === null ? null : STATUS_RANK[data.status],
		participants: participantsOf(data.to, data.recipient),
		normalized_json: JSON.stringify(event),
	};
}

function participantsOf(to: readonly string[], recipient: string): string | null {
	const others = [...new Set(to.filter((number) => number !== recipient))];
	return others.length === 0 ? null : JSON.stringify(others);
}

/** The table a row goes to: the day of the hour its ledger files it under, else of its receipt. */
export function tableOfRow(row: Pick<EventRow, "received_at"> & { hour?: string }): string {
	return eventTableOf(row.hour ?? row.received_at);
}

/**
 * `eventGz` is the row's CloudEvent compressed (encodeEvent in src/db/event-body.ts). One row
 * written: the table has no secondary index. A known event is left as it is.
 */
export function insertEvent(db: D1Database, table: string, row: EventRow, eventGz: Uint8Array): D1PreparedStatement {
	// Not if its message was erased after it was received: a copy in flight must not bring it back
	// (migrations/0009). A miss on the tombstones' key reads no row.
	return db
		.prepare(
			`INSERT INTO ${table} (id, message_id, sequence, type, direction, recipient, from_number, owner,
			   application_id, error_code, event_time, received_at, status, status_rank, event_gz, destinations,
			   participants)
			 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17
			 WHERE NOT EXISTS (SELECT 1 FROM erased_messages WHERE message_id = ?2 AND erased_at >= ?12)
			 ON CONFLICT DO NOTHING`,
		)
		.bind(
			row.id,
			row.message_id,
			row.sequence,
			row.type,
			row.direction,
			row.recipient,
			row.from_number,
			row.owner,
			row.application_id,
			row.error_code,
			row.event_time,
			row.received_at,
			row.status,
			row.status_rank,
			eventGz,
			row.destinations == null ? null : JSON.stringify(row.destinations),
			row.participants ?? null,
		);
}

/** Inserts the rows into their quarters' tables in one batch, creating a table on its first write. */
export async function insertEvents(
	db: D1Database,
	rows: ReadonlyArray<EventRow & { hour?: string }>,
	bodies: readonly Uint8Array[],
): Promise<void> {
	const tables = rows.map(tableOfRow);
	await batchIntoEventTables(
		db,
		new Set(tables),
		rows.map((row, index) => insertEvent(db, tables[index] as string, row, bodies[index] as Uint8Array)),
	);
}

/** A D1 row's stored CloudEvent: compressed, or JSON text in rows from before migration 0002. */
export type StoredBody = { event_gz: unknown };

/**
 * A stored event's CloudEvent. With its message id, one lookup by key in each table; without, a
 * scan of every table (a replay job queued before jobs carried the message id).
 */
export async function getNormalizedJson(db: D1Database, id: string, messageId?: string): Promise<string | null> {
	const where = messageId === undefined ? "id = ?1" : "message_id = ?2 AND id = ?1";
	const body = await withEventTables(db, async (tables) => {
		for (const union of unionsOf(tables, (table) => `SELECT event_gz FROM ${table} WHERE ${where}`)) {
			const statement = db.prepare(`${union} LIMIT 1`);
			const row = await (messageId === undefined
				? statement.bind(id)
				: statement.bind(id, messageId)
			).first<StoredBody>();
			if (row !== null) return row.event_gz;
		}
		return null;
	});
	return body === null ? null : decodeEvent(body);
}

/** The admin API answers the CloudEvent exactly as it was forwarded. */
export function eventOf(json: string): NormalizedEvent {
	return JSON.parse(json) as NormalizedEvent;
}

/** Where a stored event is: its table and key. */
export type StoredEventKey = { source: string; message_id: string; id: string };

/** Logs a row whose body cannot be read; its readers skip it and name it instead of failing. */
function unreadable(eventId: string, error: unknown): void {
	log.error("d1_event_unreadable", { eventId, error: errorMessage(error) });
}

/**
 * The row's CloudEvent JSON, or null (logged as `d1_event_unreadable`) when its body cannot be
 * decoded: one damaged row must not fail every read around it.
 */
export async function readableBody(eventId: string, body: unknown): Promise<string | null> {
	try {
		return await decodeEvent(body);
	} catch (error) {
		unreadable(eventId, error);
		return null;
	}
}

/**
 * An event listed without its body, which is read afterwards within a byte budget
 * (readEventsWithin). `stored_bytes` is the body's size in D1: `length()` of a BLOB reads the
 * record header only; for a JSON text row from 0001 it counts characters, which is close enough.
 */
export type EventPageRow = StoredEventKey & Pick<EventRow, "event_time" | "sequence"> & { stored_bytes: number };

/** The columns of an EventPageRow, selected from `table`. */
export function pageColumns(table: string): string {
	return `'${table}' AS source, message_id, id, event_time, sequence, length(event_gz) AS stored_bytes`;
}

/** The stored bodies of these events, by id; an event D1 no longer holds is absent. */
export async function readEventBodies(db: D1Database, keys: readonly StoredEventKey[]): Promise<Map<string, unknown>> {
	if (keys.length === 0) return new Map();
	const triples = JSON.stringify(keys.map((key) => [key.source, key.message_id, key.id]));
	const read = async (sources: readonly string[]) => {
		// json_each drives each lookup by key; the source test keeps each table to its own keys.
		const statements = unionsOf(
			sources,
			(table) =>
				`SELECT e.id, e.event_gz FROM json_each(?1) AS k CROSS JOIN ${table} AS e
				 ON json_extract(k.value, '$[0]') = '${table}' AND e.message_id = json_extract(k.value, '$[1]')
				 AND e.id = json_extract(k.value, '$[2]')`,
		).map((union) => db.prepare(union).bind(triples));
		if (statements.length === 0) return new Map<string, unknown>();
		const results = await db.batch<{ id: string } & StoredBody>(statements);
		return new Map(results.flatMap((result) => result.results.map((row) => [row.id, row.event_gz] as const)));
	};
	const sources = [...new Set(keys.map((key) => key.source))].sort();
	try {
		return await read(sources);
	} catch (error) {
		// A table dropped since the rows were listed (retention, the budget): its events are gone.
		if (!isNoSuchEventTable(error)) throw error;
		const tables = new Set(await listEventTables(db));
		return read(sources.filter((source) => tables.has(source)));
	}
}

/**
 * D1 hands a BLOB to the Worker as an array of numbers, several bytes of heap for each stored
 * byte, so the bodies are read a slice of about this many stored bytes at a time.
 */
export const BODY_READ_MAX_STORED_BYTES = 1_000_000;

/**
 * Where the read that starts at `rows[start]` ends (exclusive): the rows whose stored bytes fit in
 * `room`, and at least one.
 */
export function readEnd(rows: readonly { stored_bytes: number }[], start: number, room: number): number {
	return (
		start +
		countWithin(
			rows.slice(start).map((row) => row.stored_bytes),
			room,
		)
	);
}

/** What readEventsWithin read of a page's rows. */
export interface EventsRead {
	/** The readable events, in the rows' order; a row deleted since it was listed is left out. */
	events: NormalizedEvent[];
	/** How many of the rows the read went through: the page ends after the last of them. */
	consumed: number;
	/** Ids of the rows among them whose body could not be decoded or parsed (each logged). */
	unreadable: string[];
}

/**
 * The CloudEvents of the leading `rows` whose JSON stays within `maxChars` in all — the first
 * always — in order. Bodies are read and decoded a slice at a time and the reading stops at the
 * budget, so the Worker never holds more than about `maxChars` of them: gzip can shrink a large
 * repetitive text a thousandfold, so the stored size alone bounds nothing.
 */
export async function readEventsWithin(
	db: D1Database,
	rows: readonly EventPageRow[],
	maxChars: number,
): Promise<EventsRead> {
	const read: EventsRead = { events: [], consumed: 0, unreadable: [] };
	let chars = 0;
	while (read.consumed < rows.length) {
		const next = read.consumed;
		// Stored bytes seldom exceed the JSON they hold: a read beyond the budget left would be wasted.
		const group = rows.slice(next, readEnd(rows, next, Math.min(BODY_READ_MAX_STORED_BYTES, maxChars - chars)));
		const bodies = await readEventBodies(db, group);
		for (const row of group) {
			const body = bodies.get(row.id);
			const json = body === undefined ? null : await readableBody(row.id, body);
			const size = json?.length ?? 0;
			if (read.consumed > 0 && chars + size > maxChars) return read;
			read.consumed += 1;
			chars += size;
			if (json === null) {
				if (body !== undefined) read.unreadable.push(row.id);
				continue;
			}
			try {
				read.events.push(eventOf(json));
			} catch (error) {
				unreadable(row.id, error);
				read.unreadable.push(row.id);
			}
		}
	}
	return read;
}
