import { meter } from "./meter";

/*
 * A SQLite-backed Durable Object's storage with the meter in the path, for every class the relay
 * has: each statement runs to its end and adds the rows the runtime reports (cursor.rowsWritten,
 * rowsRead); each setAlarm is one row written (Durable Objects pricing); and what the object holds
 * is followed through `databaseSize` (page-granular): each growth is counted as `doBytesStored`,
 * bytes taken on that the bill then holds for as long as they stay (bench/prices.ts). Shrinking (a
 * day table dropped: the file gives its pages back) is not subtracted, so a steady state that drops
 * a day and fills the next one is counted as the bytes it writes. test/meter/durable-objects.test.ts
 * checks, class by class, that nothing writes around it.
 */
export class MeteredStorage {
	readonly #storage: DurableObjectStorage;
	#size: number;

	constructor(storage: DurableObjectStorage) {
		this.#storage = storage;
		this.#size = storage.sql.databaseSize;
	}

	/** Runs a statement to its end; answers its rows. */
	all<T extends Record<string, SqlStorageValue>>(query: string, ...params: SqlStorageValue[]): T[] {
		const cursor = this.#storage.sql.exec<T>(query, ...params);
		const rows = cursor.toArray();
		meter.sql(cursor);
		if (cursor.rowsWritten > 0 || /^\s*(CREATE|DROP|ALTER)\b/i.test(query)) this.#measure();
		return rows;
	}

	run(query: string, ...params: SqlStorageValue[]): void {
		this.all(query, ...params);
	}

	async setAlarm(at: number): Promise<void> {
		await this.#storage.setAlarm(at);
		meter.add("doRowsWritten");
		this.#measure();
	}

	/** Drops everything the object holds (its alarm too); the rows it deletes first are counted. */
	async deleteAll(tables: readonly string[]): Promise<void> {
		for (const table of tables) this.run(`DELETE FROM ${table}`);
		await this.#storage.deleteAll();
		this.#measure();
	}

	#measure(): void {
		const size = this.#storage.sql.databaseSize;
		if (size > this.#size) meter.add("doBytesStored", size - this.#size);
		this.#size = size;
	}
}
