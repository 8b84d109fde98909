import type { DeliveryOutcome } from "./delivery-outcomes";

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
	 * claim lasts until (migrations/0006). Null otherwise.
	 */
	next_at: string | null;
}

export type NewDeliveryRow = Omit<DeliveryRow, "id" | "next_at"> & { next_at?: string | null };

export function insertDelivery(db: D1Database, row: NewDeliveryRow): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO deliveries (event_id, attempt, outcome, http_status, error, duration_ms, at, destination, next_at)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`,
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

/** The attempts for the events of a message after `afterId`, in the order they happened; bounded as listDeliveries. */
export function selectDeliveriesOfMessage(
	db: D1Database,
	messageId: string,
	afterId: number,
	limit: number,
	maxBytes: number,
): D1PreparedStatement {
	const rows = `SELECT d.* FROM deliveries d JOIN events e ON e.id = d.event_id
	              WHERE e.message_id = ?1 AND d.id > ?2 ORDER BY d.id LIMIT ?3`;
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

/*
 * Replay claims. A `replayed` row is a replay's claim on its event, written before the send so the
 * consumer's outcome row comes after it. The dead list is the events whose latest row is `dead`;
 * a fresh claim takes its event out (its replay is in flight), and an expired one puts it back.
 */

/**
 * A claim this old with no row after it belongs to a replay that never sent: its Worker was
 * cancelled between the claim and the send, or the send and the clean-up both failed. Its event
 * counts as what it was before the claim, so no replay can hide a dead event for longer than this.
 * A replayed job is consumed in well under a second and its outcome recorded at once; only a queue
 * backed up for this long could see its event claimed a second time (with the same id).
 */
export const REPLAY_CLAIM_TTL_MS = 10 * 60 * 1000;

/**
 * The deliveries dead now — an (event, destination) pair — `d` being the latest deliveries row of
 * each pair and `e` the event; ?1 is the time before which an unanswered claim has expired. Dead:
 * the latest row is `dead`, or it is an expired claim and the latest row before the claims was
 * `dead`. Served by deliveries_outcome and deliveries_event (a pair's rows are a few of its
 * event's).
 */
const DEAD_NOW = `FROM deliveries d JOIN events e ON e.id = d.event_id
	WHERE d.outcome IN ('dead', 'replayed')
	  AND d.id = (SELECT max(id) FROM deliveries WHERE event_id = d.event_id AND destination = d.destination)
	  AND (d.outcome = 'dead' OR (coalesce(d.next_at, d.at) < ?1 AND 'dead' = (
	    SELECT outcome FROM deliveries p
	    WHERE p.event_id = d.event_id AND p.destination = d.destination AND p.outcome <> 'replayed'
	    ORDER BY p.id DESC LIMIT 1)))`;

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

export function claimExpiry(now: Date): string {
	return new Date(now.getTime() - REPLAY_CLAIM_TTL_MS).toISOString();
}

/** A `replayed` row: its id identifies the claim, so that a failed send can take exactly it back. */
export interface Claim {
	id: number;
	event_id: string;
	destination: string;
}

function inClaimOrder(claims: Claim[]): Claim[] {
	return claims.sort((a, b) => a.id - b.id);
}

/**
 * Claims up to `limit` of the deliveries dead now (of one destination, or of all), oldest death
 * first: one statement, so it sees and writes one state of the table, and a concurrent call
 * (which runs before or after it, never between) finds them claimed and takes none of them.
 */
export async function claimDeadEvents(
	db: D1Database,
	now: Date,
	limit: number,
	destination: string | null = null,
): Promise<Claim[]> {
	const claims = await db
		.prepare(
			`INSERT INTO deliveries (event_id, destination, attempt, outcome, at)
			 SELECT d.event_id, d.destination, 0, 'replayed', ?2 ${DEAD_NOW} AND (?4 IS NULL OR d.destination = ?4)
			 ORDER BY d.id LIMIT ?3
			 RETURNING id, event_id, destination`,
		)
		.bind(claimExpiry(now), now.toISOString(), limit, destination)
		.all<Claim>();
	return inClaimOrder(claims.results);
}

/** Claims the chosen deliveries, whatever their state: a replay by id, message or time asks for exactly them. */
export async function claimEvents(
	db: D1Database,
	pairs: ReadonlyArray<{ eventId: string; destination: string }>,
	now: Date,
): Promise<Claim[]> {
	if (pairs.length === 0) return [];
	const claims = await db
		.prepare(
			`INSERT INTO deliveries (event_id, destination, attempt, outcome, at)
			 SELECT json_extract(value, '$.eventId'), json_extract(value, '$.destination'), 0, 'replayed', ?2
			 FROM json_each(?1)
			 RETURNING id, event_id, destination`,
		)
		.bind(JSON.stringify(pairs), now.toISOString())
		.all<Claim>();
	return inClaimOrder(claims.results);
}

/** The ids of deliveries dead now (of one destination, or of all), oldest death first. */
export async function deadEventIds(
	db: D1Database,
	now: Date,
	limit: number,
	destination: string | null = null,
): Promise<string[]> {
	const rows = await db
		.prepare(`SELECT d.event_id ${DEAD_NOW} AND (?3 IS NULL OR d.destination = ?3) ORDER BY d.id LIMIT ?2`)
		.bind(claimExpiry(now), limit, destination)
		.all<{ event_id: string }>();
	return rows.results.map((row) => row.event_id);
}

/** How many deliveries are dead now (a `{key, n}` row, for a stats batch). */
export function countDeadEvents(db: D1Database, now: Date): D1PreparedStatement {
	return db.prepare(`SELECT NULL AS key, count(*) AS n ${DEAD_NOW}`).bind(claimExpiry(now));
}
