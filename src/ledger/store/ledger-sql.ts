import { meter } from "../../meter/meter";

/**
 * The ledger's SQLite: metered queries, the tables present when the object woke up, and a small
 * key-value table for what the ledger must remember across instances (how far it has archived).
 */
export class LedgerSql {
	readonly #sql: SqlStorage;
	readonly tables: ReadonlySet<string>;
	#hasMeta: boolean;

	constructor(sql: SqlStorage) {
		this.#sql = sql;
		this.tables = new Set(
			this.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").map((row) => row.name),
		);
		this.#hasMeta = this.tables.has("ledger_meta");
	}

	all<T extends Record<string, SqlStorageValue>>(query: string, ...params: SqlStorageValue[]): T[] {
		const cursor = this.#sql.exec<T>(query, ...params);
		const rows = cursor.toArray();
		meter.sql(cursor);
		return rows;
	}

	run(query: string, ...params: SqlStorageValue[]): void {
		this.all(query, ...params);
	}

	getMeta(key: string): string | null {
		if (!this.#hasMeta) return null;
		return this.all<{ value: string }>("SELECT value FROM ledger_meta WHERE key = ?", key)[0]?.value ?? null;
	}

	setMeta(key: string, value: string): void {
		if (!this.#hasMeta) {
			this.run("CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID");
			this.#hasMeta = true;
		}
		this.run(
			"INSERT INTO ledger_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			key,
			value,
		);
	}
}
