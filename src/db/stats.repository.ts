import { countDeadEvents } from "./deliveries.repository";

/*
 * Aggregates over several tables for GET /v1/stats. Each count is computed on demand from an
 * indexed time column: the cost grows with the rows inside the window, not with the table, and
 * the route caps the window.
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

function tally(rows: readonly CountRow[]): Record<string, number> {
	return Object.fromEntries(rows.map((row) => [String(row.key), row.n]));
}

/**
 * `since` bounds events and statuses by the events' own time (events_time is the one time index
 * on events), quarantine by when the relay received the element. `dead` is a current state, not
 * an occurrence: every event whose latest attempt is dead, or whose replay claimed it and expired
 * unsent (the set `POST /v1/replay {"dead": true}` picks up), however long ago it died.
 */
export async function readStats(db: D1Database, since: string): Promise<Stats> {
	const results = await db.batch<CountRow>([
		// The unary + keeps SQLite on the time range instead of sorting for the GROUP BY through another index.
		db.prepare("SELECT type AS key, count(*) AS n FROM events WHERE event_time >= ?1 GROUP BY +type").bind(since),
		// The message_status view, restricted first to messages with events in the window.
		db
			.prepare(
				`SELECT status AS key, count(*) AS n FROM (
				   SELECT status, event_time,
				          row_number() OVER (PARTITION BY message_id, recipient ORDER BY status_rank DESC, sequence) AS pick
				   FROM events
				   WHERE status IS NOT NULL AND message_id IN (SELECT message_id FROM events WHERE event_time >= ?1)
				 ) WHERE pick = 1 AND event_time >= ?1 GROUP BY status`,
			)
			.bind(since),
		db
			.prepare(
				`SELECT error_code AS key, count(*) AS n FROM events
				 WHERE event_time >= ?1 AND error_code IS NOT NULL GROUP BY +error_code`,
			)
			.bind(since),
		db.prepare("SELECT NULL AS key, count(*) AS n FROM quarantine WHERE received_at >= ?1").bind(since),
		countDeadEvents(db, new Date()),
	]);
	const [byType, byStatus, byErrorCode, quarantined, dead] = results.map((result) => result.results);
	const types = tally(byType ?? []);
	return {
		since,
		events: {
			total: Object.values(types).reduce((sum, n) => sum + n, 0),
			byType: types,
			byStatus: tally(byStatus ?? []),
			byErrorCode: tally(byErrorCode ?? []),
		},
		quarantined: quarantined?.[0]?.n ?? 0,
		dead: dead?.[0]?.n ?? 0,
	};
}
