import { type MessageStatus, STATUS_RANK } from "../bandwidth/event-types";
import type { NormalizedEvent } from "../bandwidth/normalize";
import { decodeEvent } from "./event-body";

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
}

/** The ledger assigns the sequence; until then the JSON carries this placeholder in its place. */
export const SEQUENCE_PLACEHOLDER = '"sequence":0,';

export function withSequence(normalizedJson: string, sequence: number): string {
	// The first match is the key: inside a JSON string a quote is always escaped, so the
	// placeholder cannot occur in a value that precedes it.
	return normalizedJson.replace(SEQUENCE_PLACEHOLDER, `"sequence":${sequence},`);
}

/** The row for an event whose sequence the ledger has yet to assign. */
export function eventRecordOf(event: NormalizedEvent, eventTime: string): Omit<EventRow, "sequence"> {
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
			   application_id, error_code, event_time, received_at, status, status_rank, event_gz)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
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
		);
}

/** A D1 row's stored CloudEvent: compressed, or JSON text in rows from before migration 0002. */
export type StoredBody = { event_gz: unknown };

export async function getNormalizedJson(db: D1Database, id: string): Promise<string | null> {
	const row = await db.prepare("SELECT event_gz FROM events WHERE id = ?1").bind(id).first<StoredBody>();
	return row === null ? null : decodeEvent(row.event_gz);
}

/** The admin API answers the CloudEvent exactly as it was forwarded. */
export async function eventOf(row: StoredBody): Promise<NormalizedEvent> {
	return JSON.parse(await decodeEvent(row.event_gz)) as NormalizedEvent;
}

export type EventPageRow = Pick<EventRow, "id" | "event_time"> & StoredBody;

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
	/** Keyset position: only rows after this (event_time, id). */
	after?: readonly [eventTime: string, id: string] | undefined;
}

/** Ordered by (event_time, id), which the events_time index serves (migrations/0002). */
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
	if (filter.after !== undefined) where.push(`(event_time, id) > (${bind(filter.after[0])}, ${bind(filter.after[1])})`);
	const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
	const sql = `SELECT id, event_time, event_gz FROM events ${clause} ORDER BY event_time, id LIMIT ${bind(limit)}`;
	return (
		await db
			.prepare(sql)
			.bind(...params)
			.all<EventPageRow>()
	).results;
}

export function selectEventsOfMessage(db: D1Database, messageId: string): D1PreparedStatement {
	return db.prepare("SELECT event_gz FROM events WHERE message_id = ?1 ORDER BY sequence").bind(messageId);
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
