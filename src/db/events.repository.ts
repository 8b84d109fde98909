import { type MessageStatus, STATUS_RANK } from "../bandwidth/event-types";
import type { NormalizedEvent } from "../bandwidth/normalize";

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

export function insertEvent(db: D1Database, row: EventRow): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO events (id, message_id, sequence, type, direction, recipient, from_number, owner,
			   application_id, error_code, event_time, received_at, status, status_rank, normalized_json)
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
			row.normalized_json,
		);
}

export async function getNormalizedJson(db: D1Database, id: string): Promise<string | null> {
	return db.prepare("SELECT normalized_json FROM events WHERE id = ?1").bind(id).first("normalized_json");
}

/** The admin API answers the CloudEvent exactly as it was forwarded. */
export function eventOf(row: Pick<EventRow, "normalized_json">): NormalizedEvent {
	return JSON.parse(row.normalized_json) as NormalizedEvent;
}

export type EventPageRow = Pick<EventRow, "id" | "event_time" | "normalized_json">;

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

/** Ordered by (event_time, id), which the events_time and events_type_time indexes serve. */
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
	const sql = `SELECT id, event_time, normalized_json FROM events ${clause} ORDER BY event_time, id LIMIT ${bind(limit)}`;
	return (
		await db
			.prepare(sql)
			.bind(...params)
			.all<EventPageRow>()
	).results;
}

export function selectEventsOfMessage(db: D1Database, messageId: string): D1PreparedStatement {
	return db.prepare("SELECT normalized_json FROM events WHERE message_id = ?1 ORDER BY sequence").bind(messageId);
}

/** One retention chunk; rowid keeps the delete on the primary b-tree. */
export function deleteEventsReceivedBefore(db: D1Database, cutoff: string, limit: number): D1PreparedStatement {
	return db
		.prepare("DELETE FROM events WHERE rowid IN (SELECT rowid FROM events WHERE received_at < ?1 LIMIT ?2)")
		.bind(cutoff, limit);
}
