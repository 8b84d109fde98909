import { tablesFrom, unionsOf, withEventTables } from "./event-tables";
import type { StoredEventKey } from "./events.repository";

/*
 * The events a replay sends, found across the event tables without their bodies (bodies are read a
 * slice at a time as they are sent). By message and by key they are lookups on each table's key;
 * by time, scans of the tables from the window's day on; by id alone, a scan of every table, so
 * the ids are first given their message from their deliveries rows, which a dead event always has.
 */

/** An event to replay: where it is, its size, and where it was routed. */
export type ReplayRow = StoredEventKey & {
	stored_bytes: number;
	/** JSON array of names; NULL for an event from before routing (it went to "default"). */
	destinations: string | null;
	event_time: string;
	sequence: number;
	/** When it was received: a claim of an event received before its message's erasure is not written. */
	received_at: string;
};

/** An event asked for by id; its message id when a deliveries row says it. */
export type WantedEvent = { id: string; messageId: string | null };

const COLUMNS =
	"e.message_id, e.id, length(e.event_gz) AS stored_bytes, e.destinations, e.event_time, e.sequence, e.received_at";
const columns = (table: string) => `SELECT '${table}' AS source, ${COLUMNS} FROM ${table} AS e`;

const byTimeAndId = (a: ReplayRow, b: ReplayRow) =>
	a.event_time < b.event_time ? -1 : a.event_time > b.event_time ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

async function rowsOf(db: D1Database, statements: readonly D1PreparedStatement[]): Promise<ReplayRow[]> {
	if (statements.length === 0) return [];
	const results = await db.batch<ReplayRow>([...statements]);
	const byId = new Map<string, ReplayRow>();
	for (const row of results.flatMap((result) => result.results)) if (!byId.has(row.id)) byId.set(row.id, row);
	return [...byId.values()];
}

/** The message ids the deliveries rows of these events give them; an event without one is absent. */
export async function messageIdsOf(db: D1Database, eventIds: readonly string[]): Promise<Map<string, string>> {
	if (eventIds.length === 0) return new Map();
	const rows = await db
		.prepare(
			`SELECT DISTINCT event_id, message_id FROM deliveries
			 WHERE event_id IN (SELECT value FROM json_each(?1)) AND message_id IS NOT NULL`,
		)
		.bind(JSON.stringify(eventIds))
		.all<{ event_id: string; message_id: string }>();
	return new Map(rows.results.map((row) => [row.event_id, row.message_id]));
}

/**
 * These events, by (event_time, id), at most `limit`. An event whose message is known is a lookup
 * by key; one whose message is not (it never failed, so no deliveries row names it) is found by a
 * scan of every table: D1's whole event count in rows read, once per call.
 */
export function rowsOfEvents(db: D1Database, wanted: readonly WantedEvent[], limit: number): Promise<ReplayRow[]> {
	const known = wanted.flatMap((event) => (event.messageId === null ? [] : [[event.messageId, event.id]]));
	const unknown = wanted.flatMap((event) => (event.messageId === null ? [event.id] : []));
	return withEventTables(db, async (tables) => {
		const byKey = unionsOf(
			known.length === 0 ? [] : tables,
			// json_each drives one lookup by key per event.
			(table) =>
				`SELECT '${table}' AS source, ${COLUMNS} FROM json_each(?1) AS k CROSS JOIN ${table} AS e
				 ON e.message_id = json_extract(k.value, '$[0]') AND e.id = json_extract(k.value, '$[1]')`,
		).map((union) => db.prepare(union).bind(JSON.stringify(known)));
		const scanned = unionsOf(
			unknown.length === 0 ? [] : tables,
			(table) => `${columns(table)} WHERE e.id IN (SELECT value FROM json_each(?1))`,
		).map((union) => db.prepare(union).bind(JSON.stringify(unknown)));
		return (await rowsOf(db, [...byKey, ...scanned])).sort(byTimeAndId).slice(0, limit);
	});
}

/** A message's events by sequence, at most `limit`. */
export function rowsOfMessage(db: D1Database, messageId: string, limit: number): Promise<ReplayRow[]> {
	return withEventTables(db, async (tables) => {
		const statements = unionsOf(tables, (table) => `${columns(table)} WHERE e.message_id = ?1`).map((union) =>
			db.prepare(`SELECT * FROM (${union}) ORDER BY sequence LIMIT ?2`).bind(messageId, limit),
		);
		return (await rowsOf(db, statements)).sort((a, b) => a.sequence - b.sequence).slice(0, limit);
	});
}

/** The events whose own time is in [since, until), by (event_time, id), at most `limit`. */
export function rowsInWindow(db: D1Database, since: string, until: string, limit: number): Promise<ReplayRow[]> {
	return withEventTables(db, async (tables) => {
		const statements = unionsOf(
			tablesFrom(tables, since),
			(table) => `${columns(table)} WHERE e.event_time >= ?1 AND e.event_time < ?2`,
		).map((union) => db.prepare(`SELECT * FROM (${union}) ORDER BY event_time, id LIMIT ?3`).bind(since, until, limit));
		return (await rowsOf(db, statements)).sort(byTimeAndId).slice(0, limit);
	});
}
