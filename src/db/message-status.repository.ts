/** A row of the `message_status` view (migrations/0001): derived from `events`, never written. */
export interface MessageStatusRow {
	message_id: string;
	recipient: string;
	status: string;
	status_rank: number;
	last_event_id: string;
	error_code: number | null;
	updated_at: string;
}

export interface RecipientStatus {
	recipient: string;
	status: string;
	lastEventId: string;
	errorCode: number | null;
	updatedAt: string;
}

export function recipientStatusOf(row: MessageStatusRow): RecipientStatus {
	return {
		recipient: row.recipient,
		status: row.status,
		lastEventId: row.last_event_id,
		errorCode: row.error_code,
		updatedAt: row.updated_at,
	};
}

export function selectStatusesOfMessage(db: D1Database, messageId: string): D1PreparedStatement {
	return db.prepare("SELECT * FROM message_status WHERE message_id = ?1 ORDER BY recipient").bind(messageId);
}
