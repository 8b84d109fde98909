export type DeliveryOutcome = "delivered" | "failed" | "dead" | "skipped" | "replayed";

export interface DeliveryRow {
	id: number;
	event_id: string;
	attempt: number;
	outcome: DeliveryOutcome;
	http_status: number | null;
	error: string | null;
	duration_ms: number | null;
	at: string;
}

export type NewDeliveryRow = Omit<DeliveryRow, "id">;

export function insertDelivery(db: D1Database, row: NewDeliveryRow): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO deliveries (event_id, attempt, outcome, http_status, error, duration_ms, at)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
		)
		.bind(row.event_id, row.attempt, row.outcome, row.http_status, row.error, row.duration_ms, row.at);
}
