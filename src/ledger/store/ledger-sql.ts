import { MeteredStorage } from "../../meter/metered-storage";

const META_SCHEMA = "CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID";

/**
 * The ledger's SQLite: metered queries, which tables exist, and a small key-value table for what
 * the ledger must remember across instances (how far it has archived). Tables are created lazily,
 * so the set is kept here, in one place: a transaction that rolls back a CREATE calls refresh().
 */
export class LedgerSql {
	readonly #storage: DurableObjectStorage;
	readonly #metered: MeteredStorage;
	/** Each table's CREATE statement as SQLite keeps it (ALTERs included). */
	#tables = new Map<string, string>();

	constructor(storage: DurableObjectStorage) {
		this.#storage = storage;
		this.#metered = new MeteredStorage(storage);
		this.refresh();
	}

	/** One synchronous transaction; if it rolls back, what it created is forgotten too. */
	transaction<T>(work: () => T): T {
		try {
			return this.#storage.transactionSync(work);
		} catch (error) {
			this.refresh();
			throw error;
		}
	}

	/** Re-reads which tables exist (after a rolled-back transaction may have undone a CREATE). */
	refresh(): void {
		const rows = this.all<{ name: string; sql: string | null }>(
			"SELECT name, sql FROM sqlite_master WHERE type = 'table'",
		);
		this.#tables = new Map(rows.map((row) => [row.name, row.sql ?? ""]));
	}

	has(table: string): boolean {
		return this.#tables.has(table);
	}

	/** Table names with this prefix, sorted. */
	tablesStartingWith(prefix: string): string[] {
		return [...this.#tables.keys()].filter((name) => name.startsWith(prefix)).sort();
	}

	/** The statement that made the table (as SQLite keeps it), for telling schema versions apart. */
	ddlOf(table: string): string | undefined {
		return this.#tables.get(table);
	}

	create(table: string, ddl: string): void {
		if (this.#tables.has(table)) return;
		this.run(ddl);
		this.#tables.set(table, ddl);
	}

	drop(table: string): void {
		if (!this.#tables.has(table)) return;
		this.run(`DROP TABLE ${table}`);
		this.#tables.delete(table);
	}

	all<T extends Record<string, SqlStorageValue>>(query: string, ...params: SqlStorageValue[]): T[] {
		return this.#metered.all<T>(query, ...params);
	}

	/** One row written, as Durable Objects bill a setAlarm. */
	setAlarm(at: number): Promise<void> {
		return this.#metered.setAlarm(at);
	}

	run(query: string, ...params: SqlStorageValue[]): void {
		this.all(query, ...params);
	}

	getMeta(key: string): string | null {
		if (!this.has("ledger_meta")) return null;
		return this.all<{ value: string }>("SELECT value FROM ledger_meta WHERE key = ?", key)[0]?.value ?? null;
	}

	setMeta(key: string, value: string): void {
		this.create("ledger_meta", META_SCHEMA);
		this.run(
			"INSERT INTO ledger_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			key,
			value,
		);
	}
}
