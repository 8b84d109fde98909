export interface QuarantineRow {
	id: string;
	received_at: string;
	reason: string;
	raw_json: string;
	reprocessed_at: string | null;
	reprocess_outcome: string | null;
}

export type NewQuarantineRow = Pick<QuarantineRow, "id" | "received_at" | "reason" | "raw_json">;

/** D1 binds at most 100 parameters per statement; four per row. */
const ROWS_PER_STATEMENT = 25;

/** The same element quarantined twice (Bandwidth retrying the batch) stays one row. */
export function insertQuarantine(db: D1Database, rows: readonly NewQuarantineRow[]): D1PreparedStatement[] {
	const statements: D1PreparedStatement[] = [];
	for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
		const chunk = rows.slice(start, start + ROWS_PER_STATEMENT);
		const values = chunk.map((_, i) => `(?${i * 4 + 1}, ?${i * 4 + 2}, ?${i * 4 + 3}, ?${i * 4 + 4})`);
		statements.push(
			db
				.prepare(
					`INSERT INTO quarantine (id, received_at, reason, raw_json) VALUES ${values.join(", ")}
					 ON CONFLICT (id) DO NOTHING`,
				)
				.bind(...chunk.flatMap((row) => [row.id, row.received_at, row.reason, row.raw_json])),
		);
	}
	return statements;
}

/** What running a quarantined element through ingest again came to. */
export type ReprocessOutcome = "stored" | "duplicate" | "still_invalid";

export interface QuarantineItem {
	id: string;
	receivedAt: string;
	reason: string;
	/**
	 * The element as parsed, or, when it was too large or nested too deep to store whole, a
	 * truncated form: `{"truncated":true,"jsonBytes":n,"jsonPrefix":"…"}` or nesting cut at 32 levels.
	 */
	raw: unknown;
	reprocessedAt: string | null;
	reprocessOutcome: string | null;
}

export function quarantineItemOf(row: QuarantineRow): QuarantineItem {
	return {
		id: row.id,
		receivedAt: row.received_at,
		reason: row.reason,
		raw: JSON.parse(row.raw_json),
		reprocessedAt: row.reprocessed_at,
		reprocessOutcome: row.reprocess_outcome,
	};
}

/** Ordered by (received_at, id), the quarantine_received_at index; `after` is the keyset position. */
export async function listQuarantine(
	db: D1Database,
	after: readonly [receivedAt: string, id: string] | undefined,
	limit: number,
): Promise<QuarantineRow[]> {
	const statement =
		after === undefined
			? db.prepare("SELECT * FROM quarantine ORDER BY received_at, id LIMIT ?1").bind(limit)
			: db
					.prepare("SELECT * FROM quarantine WHERE (received_at, id) > (?1, ?2) ORDER BY received_at, id LIMIT ?3")
					.bind(after[0], after[1], limit);
	return (await statement.all<QuarantineRow>()).results;
}

export async function getQuarantine(db: D1Database, id: string): Promise<QuarantineRow | null> {
	return db.prepare("SELECT * FROM quarantine WHERE id = ?1").bind(id).first<QuarantineRow>();
}

export async function markReprocessed(
	db: D1Database,
	id: string,
	at: string,
	outcome: ReprocessOutcome,
): Promise<void> {
	await db
		.prepare("UPDATE quarantine SET reprocessed_at = ?2, reprocess_outcome = ?3 WHERE id = ?1")
		.bind(id, at, outcome)
		.run();
}

/**
 * Only rows whose element made it into the ledger: one still invalid after a reprocess is kept,
 * because quarantine promises never to lose an element.
 */
export function deleteResolvedBefore(db: D1Database, cutoff: string, limit: number): D1PreparedStatement {
	return db
		.prepare(
			`DELETE FROM quarantine WHERE rowid IN (
			   SELECT rowid FROM quarantine
			   WHERE reprocessed_at < ?1 AND reprocess_outcome IN ('stored', 'duplicate') LIMIT ?2)`,
		)
		.bind(cutoff, limit);
}
