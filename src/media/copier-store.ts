import { meter } from "../meter/meter";
import { MeteredStorage } from "../meter/metered-storage";

const TABLE = "copier";
const SCHEMA = `CREATE TABLE IF NOT EXISTS ${TABLE} (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID`;
/** Where a SQLite-backed object keeps what its key-value calls put. */
const KV_TABLE = "_cf_KV";

/*
 * A MediaCopier's few values (its state, an erasure's tombstone) in a SQL table, so the cost meter
 * counts the rows the runtime reports instead of an estimate per key-value call. The table is made
 * by the first put: an object asked about a message too old to copy stores nothing at all. Until
 * it exists, each call looks for it (a read of the schema).
 *
 * An object written before kept them with put() (the key-value API); its first call here moves
 * them into the table, once (estimated as Cloudflare bills key-value calls: a get reads a row, a
 * delete writes one).
 */
export class CopierStore {
	readonly #storage: DurableObjectStorage;
	readonly #metered: MeteredStorage;
	#hasTable = false;

	constructor(storage: DurableObjectStorage) {
		this.#storage = storage;
		this.#metered = new MeteredStorage(storage);
	}

	async get<T>(key: string): Promise<T | undefined> {
		await this.#open();
		if (!this.#hasTable) return undefined;
		const [row] = this.#metered.all<{ v: string }>(`SELECT v FROM ${TABLE} WHERE k = ?`, key);
		return row === undefined ? undefined : (JSON.parse(row.v) as T);
	}

	async put(key: string, value: unknown): Promise<void> {
		await this.#open();
		this.#ensureTable();
		this.#metered.run(
			`INSERT INTO ${TABLE} (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`,
			key,
			JSON.stringify(value),
		);
	}

	setAlarm(at: number): Promise<void> {
		return this.#metered.setAlarm(at);
	}

	/** Everything the object holds, its alarm included. */
	async deleteAll(): Promise<void> {
		await this.#open();
		await this.#metered.deleteAll(this.#hasTable ? [TABLE] : []);
		this.#hasTable = false;
	}

	#ensureTable(): void {
		if (this.#hasTable) return;
		this.#metered.run(SCHEMA);
		this.#hasTable = true;
	}

	/** Finds the table, or key-value state an older object left (a read of the schema while there is no table). */
	async #open(): Promise<void> {
		if (this.#hasTable) return;
		const tables = new Set(
			this.#metered
				.all<{ name: string }>(
					"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)",
					TABLE,
					KV_TABLE,
				)
				.map((row) => row.name),
		);
		this.#hasTable = tables.has(TABLE);
		if (this.#hasTable || !tables.has(KV_TABLE)) return;
		const values = await this.#storage.get<unknown>(["state", "erasedUntil"]);
		meter.add("doRowsRead", 2);
		this.#ensureTable();
		for (const [key, value] of values) {
			this.#metered.run(`INSERT OR REPLACE INTO ${TABLE} (k, v) VALUES (?, ?)`, key, JSON.stringify(value));
		}
		if (values.size > 0) {
			await this.#storage.delete([...values.keys()]);
			meter.add("doRowsWritten", values.size);
		}
	}
}
