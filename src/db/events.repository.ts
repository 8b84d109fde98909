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
		normalized_json: JSON.stringify(event),
	};
}

export function insertEvent(db: D1Database, row: EventRow): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO events (id, message_id, sequence, type, direction, recipient, from_number, owner,
			   application_id, error_code, event_time, received_at, normalized_json)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
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
			row.normalized_json,
		);
}

export async function getNormalizedJson(db: D1Database, id: string): Promise<string | null> {
	return db.prepare("SELECT normalized_json FROM events WHERE id = ?1").bind(id).first("normalized_json");
}
