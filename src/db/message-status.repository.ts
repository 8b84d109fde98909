export interface MessageStatusRow {
	message_id: string;
	recipient: string;
	status: string;
	status_rank: number;
	last_event_id: string;
	error_code: number | null;
	updated_at: string;
}

/**
 * The ledger's current status for a recipient. The rank guard keeps D1 monotonic even if an older
 * snapshot were written after a newer one.
 */
export function upsertMessageStatus(db: D1Database, row: MessageStatusRow): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO message_status (message_id, recipient, status, status_rank, last_event_id, error_code, updated_at)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
			 ON CONFLICT (message_id, recipient) DO UPDATE SET
			   status = excluded.status, status_rank = excluded.status_rank,
			   last_event_id = excluded.last_event_id, error_code = excluded.error_code,
			   updated_at = excluded.updated_at
			 WHERE excluded.status_rank >= message_status.status_rank`,
		)
		.bind(
			row.message_id,
			row.recipient,
			row.status,
			row.status_rank,
			row.last_event_id,
			row.error_code,
			row.updated_at,
		);
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

export function deleteStatusesUpdatedBefore(db: D1Database, cutoff: string, limit: number): D1PreparedStatement {
	return db
		.prepare(
			"DELETE FROM message_status WHERE rowid IN (SELECT rowid FROM message_status WHERE updated_at < ?1 LIMIT ?2)",
		)
		.bind(cutoff, limit);
}
