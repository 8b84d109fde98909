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
