/*
 * How much D1 holds. D1 does not authorize PRAGMA page_count; every result's `meta.size_after` is
 * the database's size in bytes after that statement, and it shrinks when rows are deleted.
 */

export interface D1Storage {
	sizeBytes: number;
	/** The oldest event time still held, or null when there are no events. */
	historyFrom: string | null;
}

type HistoryRow = { history_from: string | null };

/** min() reads the first entry of the events_time index, not the table. */
export function selectStorage(db: D1Database): D1PreparedStatement {
	return db.prepare("SELECT min(event_time) AS history_from FROM events");
}

export function storageOf(result: D1Result): D1Storage {
	const [row] = result.results as HistoryRow[];
	return { sizeBytes: result.meta.size_after, historyFrom: row?.history_from ?? null };
}

export async function readStorage(db: D1Database): Promise<D1Storage> {
	return storageOf(await selectStorage(db).all<HistoryRow>());
}
