import { EVENT_TABLE_NAME_SQL, eventTableStart, isNoSuchEventTable } from "./event-tables";

/*
 * How much D1 holds. D1 does not authorize PRAGMA page_count; every result's `meta.size_after` is
 * the database's size in bytes after that statement, and it shrinks when rows are deleted.
 */

export interface D1Storage {
	sizeBytes: number;
	/**
	 * How far back D1's events go, or null when it holds none: the start of the oldest event table
	 * (events are filed by receipt; the budget may have evicted part of its span), or the oldest event
	 * time of the legacy table while it holds events.
	 */
	historyFrom: string | null;
}

type TablesRow = { oldest_table: string | null; legacy: number | null };

/**
 * From the schema alone, no event row read: the oldest event table's name, and whether the legacy
 * table is still there. The second statement fails when D1 has lost the relay's schema, which
 * /health must report although sqlite_master still answers.
 */
function selectStorage(db: D1Database): D1PreparedStatement[] {
	return [
		db.prepare(
			`SELECT min(CASE WHEN name <> 'events' THEN name END) AS oldest_table, max(name = 'events') AS legacy
			 FROM sqlite_master WHERE type = 'table' AND (name = 'events' OR ${EVENT_TABLE_NAME_SQL})`,
		),
		db.prepare("SELECT NULL FROM deliveries LIMIT 0"),
	];
}

export async function readStorage(db: D1Database): Promise<D1Storage> {
	const [tables] = await db.batch<TablesRow>(selectStorage(db));
	const row = tables?.results[0];
	const start = row?.oldest_table == null ? null : eventTableStart(row.oldest_table);
	let historyFrom = start === null ? null : new Date(start).toISOString();
	if (row?.legacy === 1) {
		// min() reads the first entry of the legacy table's events_time index.
		const legacy = await db
			.prepare("SELECT min(event_time) AS history_from FROM events")
			.first<{ history_from: string | null }>()
			.catch((error: unknown) => {
				// Dropped since, once empty.
				if (isNoSuchEventTable(error)) return null;
				throw error;
			});
		const from = legacy?.history_from ?? null;
		if (from !== null && (historyFrom === null || from < historyFrom)) historyFrom = from;
	}
	return { sizeBytes: tables?.meta.size_after ?? 0, historyFrom };
}
