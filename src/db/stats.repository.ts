import { tablesFrom, unionsOf, withEventTables } from "./event-tables";
import { countDeadEvents } from "./replay-claims.repository";

/*
 * Aggregates over several tables for GET /v1/stats, computed on demand. Events have no time index:
 * the counts scan the event tables that can hold events of the window (tablesFrom), which the route
 * caps at 31 days; rows read cost a thousandth of rows written.
 */

export interface Stats {
	since: string;
	events: {
		total: number;
		byType: Record<string, number>;
		byStatus: Record<string, number>;
		byErrorCode: Record<string, number>;
	};
	quarantined: number;
	dead: number;
}

type CountRow = { key: string | number | null; n: number };
type TypeRow = { type: string; error_code: number | null; n: number };

function tally(rows: readonly CountRow[]): Record<string, number> {
	const counts: Record<string, number> = {};
	for (const row of rows) counts[String(row.key)] = (counts[String(row.key)] ?? 0) + row.n;
	return counts;
}

/** Events of the window by type and error code, one scan of each table; one statement per group of tables. */
function byTypeAndError(db: D1Database, tables: readonly string[], since: string): D1PreparedStatement[] {
	return unionsOf(tables, (table) => `SELECT type, error_code FROM ${table} WHERE event_time >= ?1`).map((union) =>
		db.prepare(`SELECT type, error_code, count(*) AS n FROM (${union}) GROUP BY type, error_code`).bind(since),
	);
}

/**
 * The status of each (message, recipient) with an event in the window — the highest rung, the
 * first event to reach it winning ties — counted when that event is in the window. Read from the
 * window's tables: an event of the message filed more than a day before the window does not take
 * part. Over more than one group of tables (a window cannot span 100 days) the groups count apart.
 */
function byStatus(db: D1Database, tables: readonly string[], since: string): D1PreparedStatement[] {
	return unionsOf(
		tables,
		(table) =>
			`SELECT message_id, recipient, status, status_rank, sequence, event_time FROM ${table} WHERE status IS NOT NULL`,
	).map((union) =>
		db
			.prepare(
				`WITH candidates AS (${union})
				 SELECT status AS key, count(*) AS n FROM (
				   SELECT status, event_time,
				          row_number() OVER (PARTITION BY message_id, recipient ORDER BY status_rank DESC, sequence) AS pick
				   FROM candidates
				   WHERE message_id IN (SELECT message_id FROM candidates WHERE event_time >= ?1)
				 ) WHERE pick = 1 AND event_time >= ?1 GROUP BY status`,
			)
			.bind(since),
	);
}

/**
 * `since` bounds events and statuses by the events' own time, quarantine by when the relay
 * received the element. `dead` is a current state, not an occurrence: every delivery whose latest
 * attempt is dead, or whose replay claimed it and expired unsent (the set `POST /v1/replay
 * {"dead": true}` picks up), however long ago it died.
 */
export async function readStats(db: D1Database, since: string): Promise<Stats> {
	return withEventTables(db, async (tables) => {
		const window = tablesFrom(tables, since);
		const types = byTypeAndError(db, window, since);
		const statuses = byStatus(db, window, since);
		const results = await db.batch([
			...types,
			...statuses,
			db.prepare("SELECT NULL AS key, count(*) AS n FROM quarantine WHERE received_at >= ?1").bind(since),
			countDeadEvents(db, tables, new Date()),
		]);
		const typeRows = results.slice(0, types.length).flatMap((result) => result.results as TypeRow[]);
		const statusRows = results
			.slice(types.length, types.length + statuses.length)
			.flatMap((result) => result.results as CountRow[]);
		const [quarantined, dead] = results
			.slice(types.length + statuses.length)
			.map((result) => result.results as CountRow[]);
		const byType = tally(typeRows.map((row) => ({ key: row.type, n: row.n })));
		return {
			since,
			events: {
				total: typeRows.reduce((sum, row) => sum + row.n, 0),
				byType,
				byStatus: tally(statusRows),
				byErrorCode: tally(
					typeRows.filter((row) => row.error_code !== null).map((row) => ({ key: row.error_code, n: row.n })),
				),
			},
			quarantined: quarantined?.[0]?.n ?? 0,
			dead: dead?.[0]?.n ?? 0,
		};
	});
}
