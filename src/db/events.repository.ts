import { type MessageStatus, STATUS_RANK } from "../bandwidth/event-types";
import type { NormalizedEvent } from "../bandwidth/normalize";
import { decodeEvent } from "./event-body";
import { countWithin } from "./row-size";

/** One `events` row (migrations/0001). The ledger keeps the same shape in its outbox. */
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
		normalized_json: JSON.stringify(event),
	};
}

/** `eventGz` is the row's CloudEvent compressed (encodeEvent in src/db/event-body.ts). */
export function insertEvent(db: D1Database, row: EventRow, eventGz: Uint8Array): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO events (id, message_id, sequence, type, direction, recipient, from_number, owner,
			   application_id, error_code, event_time, received_at, status, status_rank, event_gz, destinations)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
			 ON CONFLICT (id) DO NOTHING`,
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
		);
}

/** A D1 row's stored CloudEvent: compressed, or JSON text in rows from before migration 0002. */
export type StoredBody = { event_gz: unknown };

export async function getNormalizedJson(db: D1Database, id: string): Promise<string | null> {
	const row = await db.prepare("SELECT event_gz FROM events WHERE id = ?1").bind(id).first<StoredBody>();
	return row === null ? null : decodeEvent(row.event_gz);
}

/** The admin API answers the CloudEvent exactly as it was forwarded. */
export function eventOf(json: string): NormalizedEvent {
	return JSON.parse(json) as NormalizedEvent;
}

/**
 * An event listed without its body, which is read afterwards within a byte budget
 * (readEventsWithin). `stored_bytes` is the body's size in D1: `length()` of a BLOB reads the
 * record header only; for a JSON text row from 0001 it counts characters, which is close enough.
 */
export type EventPageRow = Pick<EventRow, "id" | "event_time" | "sequence"> & { stored_bytes: number };

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

/** The conditions of the filters added for the console's search (eventId, number). */
function searchConditions(filter: EventFilter, bind: (value: unknown) => string): string[] {
	const where: string[] = [];
	if (filter.eventId !== undefined) where.push(`id = ${bind(filter.eventId)}`);
	if (filter.number !== undefined) {
		const number = bind(filter.number);
		where.push(`(from_number = ${number} OR recipient = ${number} OR owner = ${number})`);
	}
	return where;
}

/** Ordered by (event_time, id), either way, which the events_time index serves (migrations/0002). */
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
	where.push(...searchConditions(filter, bind));
	const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
	const sql = `SELECT id, event_time, sequence, length(event_gz) AS stored_bytes FROM events ${clause}
	             ORDER BY event_time ${direction.order}, id ${direction.order} LIMIT ${bind(limit)}`;
	return (
		await db
			.prepare(sql)
			.bind(...params)
			.all<EventPageRow>()
	).results;
}

/** A message's events after `afterSequence`, by sequence, without their bodies (readEventsWithin). */
export function selectEventsOfMessage(
	db: D1Database,
	messageId: string,
	afterSequence: number,
	limit: number,
): D1PreparedStatement {
	return db
		.prepare(
			`SELECT id, event_time, sequence, length(event_gz) AS stored_bytes FROM events
			 WHERE message_id = ?1 AND sequence > ?2 ORDER BY sequence LIMIT ?3`,
		)
		.bind(messageId, afterSequence, limit);
}

/** One row when D1 holds any event of the message. */
export function selectAnyEventOfMessage(db: D1Database, messageId: string): D1PreparedStatement {
	return db.prepare("SELECT 1 AS found FROM events WHERE message_id = ?1 LIMIT 1").bind(messageId);
}

/** The stored bodies of these events, by id; an id D1 no longer holds is absent. */
export async function readEventBodies(db: D1Database, ids: readonly string[]): Promise<Map<string, unknown>> {
	if (ids.length === 0) return new Map();
	const rows = await db
		.prepare("SELECT id, event_gz FROM events WHERE id IN (SELECT value FROM json_each(?1))")
		.bind(JSON.stringify(ids))
		.all<{ id: string } & StoredBody>();
	return new Map(rows.results.map((row) => [row.id, row.event_gz]));
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

/**
 * The CloudEvents (JSON) of the leading `rows` whose total stays within `maxChars` — the first
 * always — in order; null for a row deleted since it was listed. Bodies are read and decoded a
 * slice at a time and the reading stops at the budget, so the Worker never holds more than about
 * `maxChars` of them: gzip can shrink a large repetitive text a thousandfold, so the stored size
 * alone bounds nothing. The answer's length is how many rows the page consumed.
 */
export async function readEventsWithin(
	db: D1Database,
	rows: readonly EventPageRow[],
	maxChars: number,
): Promise<Array<string | null>> {
	const events: Array<string | null> = [];
	let chars = 0;
	let next = 0;
	while (next < rows.length) {
		// Stored bytes seldom exceed the JSON they hold: a read beyond the budget left would be wasted.
		const group = rows.slice(next, readEnd(rows, next, Math.min(BODY_READ_MAX_STORED_BYTES, maxChars - chars)));
		const bodies = await readEventBodies(
			db,
			group.map((row) => row.id),
		);
		for (const row of group) {
			const body = bodies.get(row.id);
			const json = body === undefined ? null : await decodeEvent(body);
			const size = json?.length ?? 0;
			if (events.length > 0 && chars + size > maxChars) return events;
			events.push(json);
			chars += size;
		}
		next += group.length;
	}
	return events;
}

/** The two statements that remove one chunk of the oldest events; run them in one batch, in this order. */
export interface EventChunkDelete {
	/** The chunk's deliveries rows (only retries, dead and replayed events have any). */
	deliveries: D1PreparedStatement;
	events: D1PreparedStatement;
}

/**
 * The oldest events by (event_time, id), walked on the events_time index. With `before`, only
 * events whose own time and receipt are both earlier: the receipt is what retention and the
 * archive promise by, and the bound on event_time keeps the walk a range that ends there instead
 * of reading every later row when fewer than `limit` qualify. An event received after `before`
 * with an older time (a late delivery receipt) is skipped and waits for a later run.
 *
 * Both statements select the same chunk: a batch is one transaction and the deliveries delete
 * does not change `events`.
 */
export function deleteOldestEvents(db: D1Database, before: string | undefined, limit: number): EventChunkDelete {
	const chunk =
		before === undefined
			? "SELECT id FROM events ORDER BY event_time, id LIMIT ?1"
			: "SELECT id FROM events WHERE event_time < ?2 AND received_at < ?2 ORDER BY event_time, id LIMIT ?1";
	const bind = (statement: D1PreparedStatement) =>
		before === undefined ? statement.bind(limit) : statement.bind(limit, before);
	return {
		deliveries: bind(db.prepare(`DELETE FROM deliveries WHERE event_id IN (${chunk})`)),
		events: bind(db.prepare(`DELETE FROM events WHERE id IN (${chunk})`)),
	};
}
