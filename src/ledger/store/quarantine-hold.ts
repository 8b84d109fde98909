import type { NewQuarantineRow } from "../../db/quarantine.repository";
import type { LedgerSql } from "./ledger-sql";

/**
 * Quarantine rows D1 refused when their callback came in: held here, so the callback still gets
 * its 200, until the alarm gets them into D1. Empty in the normal path.
 */
const QUARANTINE_SCHEMA = `
CREATE TABLE IF NOT EXISTS quarantine_outbox (
  id TEXT PRIMARY KEY,
  row TEXT NOT NULL
)`;

export class QuarantineHold {
	readonly #db: LedgerSql;

	constructor(db: LedgerSql) {
		this.#db = db;
	}

	get #exists(): boolean {
		return this.#db.has("quarantine_outbox");
	}

	hold(rows: readonly NewQuarantineRow[]): void {
		if (rows.length === 0) return;
		this.#db.create("quarantine_outbox", QUARANTINE_SCHEMA);
		for (const row of rows) {
			this.#db.run(
				"INSERT INTO quarantine_outbox (id, row) VALUES (?, ?) ON CONFLICT DO NOTHING",
				row.id,
				JSON.stringify(row),
			);
		}
	}

	/** Held rows, at most `maxRows` and about `maxChars` of JSON. */
	held(maxRows: number, maxChars: number): NewQuarantineRow[] {
		if (!this.#exists) return [];
		const rows: NewQuarantineRow[] = [];
		let chars = 0;
		for (const { row } of this.#db.all<{ row: string }>(
			"SELECT row FROM quarantine_outbox ORDER BY id LIMIT ?",
			maxRows,
		)) {
			if (rows.length > 0 && chars + row.length > maxChars) break;
			chars += row.length;
			rows.push(JSON.parse(row) as NewQuarantineRow);
		}
		return rows;
	}

	/** Deletes the held rows whose element `matches` (an erasure); answers how many. */
	erase(matches: (rawJson: string) => boolean): number {
		if (!this.#exists) return 0;
		const ids = this.#db
			.all<{ id: string; row: string }>("SELECT id, row FROM quarantine_outbox")
			.filter(({ row }) => matches((JSON.parse(row) as NewQuarantineRow).raw_json))
			.map(({ id }) => id);
		this.release(ids);
		return ids.length;
	}

	release(ids: readonly string[]): void {
		if (ids.length === 0 || !this.#exists) return;
		this.#db.run("DELETE FROM quarantine_outbox WHERE id IN (SELECT value FROM json_each(?))", JSON.stringify(ids));
	}
}
