import { existsInAny, LEGACY_EVENTS_TABLE, withEventTables } from "./event-tables";

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
 * True while D1 holds the event of `d`: a lookup by (message_id, id) in each event table, by id in
 * the legacy table (whose rows may lack the message id: written before migration 0006).
 */
export function eventHeld(tables: readonly string[]): string {
	return existsInAny(tables, (table) =>
		table === LEGACY_EVENTS_TABLE
			? `SELECT 1 FROM ${table} WHERE id = d.event_id`
			: `SELECT 1 FROM ${table} WHERE message_id = d.message_id AND id = d.event_id`,
	);
}

/**
 * The deliveries dead now — an (event, destination) pair — `d` being the latest deliveries row of
 * each pair, of an event D1 holds; ?1 is the time before which an unanswered claim has expired.
 * Dead: the latest row is `dead`, or it is an expired claim and the latest row before the claims
 * was `dead`. Served by deliveries_outcome and deliveries_event (a pair's rows are a few of its
 * event's), and each table's key.
 */
const deadNow = (tables: readonly string[]) => `FROM deliveries d
	WHERE d.outcome IN ('dead', 'replayed')
	  AND d.id = (SELECT max(id) FROM deliveries WHERE event_id = d.event_id AND destination = d.destination)
	  AND (d.outcome = 'dead' OR (coalesce(d.next_at, d.at) < ?1 AND 'dead' = (
	    SELECT outcome FROM deliveries p
	    WHERE p.event_id = d.event_id AND p.destination = d.destination AND p.outcome <> 'replayed'
	    ORDER BY p.id DESC LIMIT 1)))
	  AND ${eventHeld(tables)}`;

export function claimExpiry(now: Date): string {
	return new Date(now.getTime() - REPLAY_CLAIM_TTL_MS).toISOString();
}

/** A `replayed` row: its id identifies the claim, so that a failed send can take exactly it back. */
export interface Claim {
	id: number;
	event_id: string;
	message_id: string | null;
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
	const claims = await withEventTables(db, (tables) =>
		db
			.prepare(
				`INSERT INTO deliveries (event_id, destination, attempt, outcome, at, message_id)
				 SELECT d.event_id, d.destination, 0, 'replayed', ?2, d.message_id ${deadNow(tables)}
				   AND (?4 IS NULL OR d.destination = ?4)
				 ORDER BY d.id LIMIT ?3
				 RETURNING id, event_id, message_id, destination`,
			)
			.bind(claimExpiry(now), now.toISOString(), limit, destination)
			.all<Claim>(),
	);
	return inClaimOrder(claims.results);
}

/**
 * Claims the chosen deliveries, whatever their state: a replay by id, message or time asks for
 * exactly them. The events were read before this statement: one whose message was erased since
 * (its receipt before the erasure) gets no claim, so no trail of it comes back (migrations/0009).
 */
export async function claimEvents(
	db: D1Database,
	pairs: ReadonlyArray<{ eventId: string; messageId: string; destination: string; receivedAt?: string }>,
	now: Date,
): Promise<Claim[]> {
	if (pairs.length === 0) return [];
	const claims = await db
		.prepare(
			`INSERT INTO deliveries (event_id, destination, attempt, outcome, at, message_id)
			 SELECT json_extract(value, '$.eventId'), json_extract(value, '$.destination'), 0, 'replayed', ?2,
			        json_extract(value, '$.messageId')
			 FROM json_each(?1)
			 WHERE NOT EXISTS (
			   SELECT 1 FROM erased_messages AS x
			   WHERE x.message_id = json_extract(value, '$.messageId')
			     AND (json_extract(value, '$.receivedAt') IS NULL OR x.erased_at >= json_extract(value, '$.receivedAt')))
			 RETURNING id, event_id, message_id, destination`,
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
	const rows = await withEventTables(db, (tables) =>
		db
			.prepare(`SELECT d.event_id ${deadNow(tables)} AND (?3 IS NULL OR d.destination = ?3) ORDER BY d.id LIMIT ?2`)
			.bind(claimExpiry(now), limit, destination)
			.all<{ event_id: string }>(),
	);
	return rows.results.map((row) => row.event_id);
}

/** How many deliveries are dead now (a `{key, n}` row, for a stats batch over these tables). */
export function countDeadEvents(db: D1Database, tables: readonly string[], now: Date): D1PreparedStatement {
	return db.prepare(`SELECT NULL AS key, count(*) AS n ${deadNow(tables)}`).bind(claimExpiry(now));
}
