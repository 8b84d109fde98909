import type { DeliveryOutcome } from "./delivery-outcomes";
import { inAny } from "./event-tables";

export interface DeliveryRow {
	id: number;
	event_id: string;
	/** Each (event, destination) is its own delivery (migrations/0005). */
	destination: string;
	attempt: number;
	outcome: DeliveryOutcome;
	http_status: number | null;
	error: string | null;
	duration_ms: number | null;
	at: string;
	/**
	 * A failed attempt's next try; for a replay's claim held by its destination's gate, the time the
	 * claim lasts until (migrations/0007). Null otherwise.
	 */
	next_at: string | null;
}

/**
 * `message_id` (migrations/0006) says where the event is: D1 finds an event by its message and id,
 * so the dead list and a replay need it. Null when it is unknown (a malformed job).
 */
export type NewDeliveryRow = Omit<DeliveryRow, "id" | "next_at"> & {
	message_id: string | null;
	next_at?: string | null;
};

export function insertDelivery(db: D1Database, row: NewDeliveryRow): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO deliveries (event_id, attempt, outcome, http_status, error, duration_ms, at, destination, message_id, next_at)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)`,
		)
		.bind(
			row.event_id,
			row.attempt,
			row.outcome,
			row.http_status,
			row.error,
			row.duration_ms,
			row.at,
			row.destination,
			row.message_id,
			row.next_at ?? null,
		);
}

export async function deleteDeliveries(db: D1Database, ids: readonly number[]): Promise<void> {
	if (ids.length === 0) return;
	await db
		.prepare("DELETE FROM deliveries WHERE id IN (SELECT value FROM json_each(?1))")
		.bind(JSON.stringify(ids))
		.run();
}

export interface Delivery {
	/** Null for a first try, which is recorded in its batch's row (src/db/attempts.repository.ts). */
	id: number | null;
	eventId: string;
	destination: string;
	attempt: number;
	outcome: DeliveryOutcome;
	httpStatus: number | null;
	error: string | null;
	durationMs: number | null;
	at: string;
	/** A failed attempt's next try; a held replay's claim: how long it is held for. */
	nextAttemptAt: string | null;
}

export function deliveryOf(row: DeliveryRow): Delivery {
	return {
		id: row.id,
		eventId: row.event_id,
		destination: row.destination,
		attempt: row.attempt,
		outcome: row.outcome,
		httpStatus: row.http_status,
		error: row.error,
		durationMs: row.duration_ms,
		at: row.at,
		nextAttemptAt: row.next_at ?? null,
	};
}

export interface DeliveryFilter {
	outcome?: DeliveryOutcome | undefined;
	eventId?: string | undefined;
	destination?: string | undefined;
	/** Keyset position: only rows with a higher id (ids grow with insertion). */
	afterId?: number | undefined;
}

/**
 * A page of attempts, bounded by rows and by bytes: each row carries `fetched`, how many rows the
 * page was cut from (the inner query's `LIMIT`), so a caller can tell that rows follow. Rows are
 * taken while their bytes (the error text, and about 100 for the other columns) stay within
 * `maxBytes`, the first always; the running total is computed in D1, so a row beyond it never
 * reaches the Worker. Writers keep `error` to a short snippet, but the table does not enforce it.
 */
export function withinBytes(
	db: D1Database,
	rows: string,
	params: readonly unknown[],
	maxBytes: number,
): D1PreparedStatement {
	return db
		.prepare(
			`SELECT id, event_id, destination, attempt, outcome, http_status, error, duration_ms, at, next_at, fetched FROM (
			   SELECT *, sum(bytes) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING) AS upto,
			          row_number() OVER (ORDER BY id) AS n, count(*) OVER () AS fetched
			   FROM (SELECT *, 100 + length(event_id) + coalesce(length(CAST(error AS BLOB)), 0) AS bytes FROM (${rows}))
			 ) WHERE n = 1 OR upto <= ?${params.length + 1} ORDER BY id`,
		)
		.bind(...params, maxBytes);
}

export type DeliveryPageRow = DeliveryRow & { fetched: number };

export async function listDeliveries(
	db: D1Database,
	filter: DeliveryFilter,
	limit: number,
	maxBytes: number,
): Promise<DeliveryPageRow[]> {
	const params: unknown[] = [];
	const bind = (value: unknown) => `?${params.push(value)}`;
	const where: string[] = [];
	if (filter.outcome !== undefined) where.push(`outcome = ${bind(filter.outcome)}`);
	if (filter.eventId !== undefined) where.push(`event_id = ${bind(filter.eventId)}`);
	if (filter.destination !== undefined) where.push(`destination = ${bind(filter.destination)}`);
	if (filter.afterId !== undefined) where.push(`id > ${bind(filter.afterId)}`);
	const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
	const rows = `SELECT * FROM deliveries ${clause} ORDER BY id LIMIT ${bind(limit)}`;
	return (await withinBytes(db, rows, params, maxBytes).all<DeliveryPageRow>()).results;
}

/**
 * The attempts for the events of a message after `afterId`, in the order they happened; bounded as
 * listDeliveries. The message's event ids come from its events (a lookup on each table's key), and
 * its deliveries rows from deliveries_event.
 */
export function selectDeliveriesOfMessage(
	db: D1Database,
	tables: readonly string[],
	messageId: string,
	afterId: number,
	limit: number,
	maxBytes: number,
): D1PreparedStatement {
	const ofMessage = inAny("d.event_id", tables, (table) => `SELECT id FROM ${table} WHERE message_id = ?1`);
	const rows = `SELECT d.* FROM deliveries d WHERE ${ofMessage} AND d.id > ?2 ORDER BY d.id LIMIT ?3`;
	return withinBytes(db, rows, [messageId, afterId, limit], maxBytes);
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

/**
 * Keeps the claims of replayed jobs a gate holds back until `until` (the end of their hold): the
 * claim then expires REPLAY_CLAIM_TTL_MS after the hold rather than during it. Only `replayed` rows;
 * `at` stays when the claim was made, so a message's attempts still read in order.
 */
export function renewClaims(db: D1Database, claimIds: readonly number[], until: Date): D1PreparedStatement {
	return db
		.prepare(
			`UPDATE deliveries SET next_at = ?2
			 WHERE id IN (SELECT value FROM json_each(?1)) AND outcome = 'replayed' AND coalesce(next_at, at) < ?2`,
		)
		.bind(JSON.stringify(claimIds), until.toISOString());
}
