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

/** First-try outcomes of one consumer batch, added to their hour's counters: one row written per outcome. */
export function addDeliveryCounts(
	db: D1Database,
	hour: string,
	counts: ReadonlyMap<string, number>,
): D1PreparedStatement[] {
	return [...counts].map(([outcome, n]) =>
		db
			.prepare(
				`INSERT INTO delivery_counts (hour, outcome, n) VALUES (?1, ?2, ?3)
				 ON CONFLICT (hour, outcome) DO UPDATE SET n = n + excluded.n`,
			)
			.bind(hour, outcome, n),
	);
}

export async function deleteDeliveries(db: D1Database, ids: readonly number[]): Promise<void> {
	if (ids.length === 0) return;
	await db
		.prepare("DELETE FROM deliveries WHERE id IN (SELECT value FROM json_each(?1))")
		.bind(JSON.stringify(ids))
		.run();
}

export const DELIVERY_OUTCOMES = [
	"delivered",
	"failed",
	"dead",
	"skipped",
	"replayed",
] as const satisfies readonly DeliveryOutcome[];

export interface Delivery {
	id: number;
	eventId: string;
	attempt: number;
	outcome: DeliveryOutcome;
	httpStatus: number | null;
	error: string | null;
	durationMs: number | null;
	at: string;
}

export function deliveryOf(row: DeliveryRow): Delivery {
	return {
		id: row.id,
		eventId: row.event_id,
		attempt: row.attempt,
		outcome: row.outcome,
		httpStatus: row.http_status,
		error: row.error,
		durationMs: row.duration_ms,
		at: row.at,
	};
}

export interface DeliveryFilter {
	outcome?: DeliveryOutcome | undefined;
	eventId?: string | undefined;
	/** Keyset position: only rows with a higher id (ids grow with insertion). */
	afterId?: number | undefined;
}

export async function listDeliveries(db: D1Database, filter: DeliveryFilter, limit: number): Promise<DeliveryRow[]> {
	const params: unknown[] = [];
	const bind = (value: unknown) => `?${params.push(value)}`;
	const where: string[] = [];
	if (filter.outcome !== undefined) where.push(`outcome = ${bind(filter.outcome)}`);
	if (filter.eventId !== undefined) where.push(`event_id = ${bind(filter.eventId)}`);
	if (filter.afterId !== undefined) where.push(`id > ${bind(filter.afterId)}`);
	const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
	return (
		await db
			.prepare(`SELECT * FROM deliveries ${clause} ORDER BY id LIMIT ${bind(limit)}`)
			.bind(...params)
			.all<DeliveryRow>()
	).results;
}

/** Every attempt for every event of a message, in the order they happened. */
export function selectDeliveriesOfMessage(db: D1Database, messageId: string): D1PreparedStatement {
	return db
		.prepare(
			`SELECT d.* FROM deliveries d JOIN events e ON e.id = d.event_id
			 WHERE e.message_id = ?1 ORDER BY d.id`,
		)
		.bind(messageId);
}

/**
 * One retention chunk. There is no index on `at` (migrations/0002), but ids grow with time: the
 * chunk is the `limit` oldest rows by id, of which the expired ones go. A chunk that deletes fewer
 * than `limit` has met a newer row, so the walk never reads past the expired prefix.
 */
export function deleteDeliveriesBefore(db: D1Database, cutoff: string, limit: number): D1PreparedStatement {
	return db
		.prepare("DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries ORDER BY id LIMIT ?2) AND at < ?1")
		.bind(cutoff, limit);
}

/** Hourly first-try counts (`hour` is 2026-12-01T04) of the hours before the cutoff's, on the primary key. */
export function deleteDeliveryCountsBefore(db: D1Database, cutoff: string, limit: number): D1PreparedStatement {
	return db
		.prepare(
			`DELETE FROM delivery_counts WHERE (hour, outcome) IN (
			   SELECT hour, outcome FROM delivery_counts WHERE hour < ?1 ORDER BY hour LIMIT ?2)`,
		)
		.bind(cutoff.slice(0, 13), limit);
}
