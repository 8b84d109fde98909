import { eventTableDay, isNoSuchEventTable } from "./event-tables";

/*
 * How much D1 holds. D1 does not authorize PRAGMA page_count; every result's `meta.size_after` is
 * the database's size in bytes after that statement, and it shrinks when rows are deleted.
 */

export interface D1Storage {
	sizeBytes: number;
	/**
	 * How far back D1's events go, or null when it holds none: the start of the oldest day table
	 * (days are filed by receipt; the budget may have evicted part of that day), or the oldest event
	 * time of the legacy table while it holds events.
	 */
	historyFrom: string | null;
}

type TablesRow = { oldest_day: string | null; legacy: number | null };

/**
 * From the schema alone, no event row read: the oldest day table's name, and whether the legacy
 * table is still there. The second statement fails when D1 has lost the relay's schema, which
 * /health must report although sqlite_master still answers.
 */
function selectStorage(db: D1Database): D1PreparedStatement[] {
	return [
		db.prepare(
			`SELECT min(CASE WHEN name <> 'events' THEN name END) AS oldest_day, max(name = 'events') AS legacy
			 FROM sqlite_master WHERE type = 'table'
			   AND (name = 'events' OR name GLOB 'events_[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]')`,
		),
		db.prepare("SELECT NULL FROM deliveries LIMIT 0"),
	];
}

export async function readStorage(db: D1Database): Promise<D1Storage> {
	const [tables] = await db.batch<TablesRow>(selectStorage(db));
	const row = tables?.results[0];
	const day = row?.oldest_day == null ? null : eventTableDay(row.oldest_day);
	let historyFrom = day === null ? null : new Date(day).toISOString();
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
