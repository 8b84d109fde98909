import { meter } from "./meter";

/*
 * D1 with the meter in the path: every statement that returns `meta` adds the rows D1 reports
 * (rows_written, rows_read) and the database's growth (size_after). `first()` and `raw()` return
 * no meta, so they run through `all()`, which is what D1 itself does underneath: the same query,
 * every row fetched, the first (or the values) picked here.
 */

/** Last size_after seen per database, kept across resets: growth is measured between queries. */
const lastSize = new Map<string, number>();

function count(database: string, meta: D1Meta, writer = true): void {
	meter.add("d1RowsWritten", meta.rows_written);
	if (writer && meta.rows_written > 0) meter.add("d1Writes");
	meter.add("d1RowsRead", meta.rows_read);
	const previous = lastSize.get(database);
	if (previous !== undefined) meter.add("d1BytesStored", meta.size_after - previous);
	lastSize.set(database, meta.size_after);
}

class MeteredStatement implements D1PreparedStatement {
	constructor(
		readonly inner: D1PreparedStatement,
		private readonly database: string,
	) {}

	bind(...values: unknown[]): D1PreparedStatement {
		return new MeteredStatement(this.inner.bind(...values), this.database);
	}

	async run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
		const result = await this.inner.run<T>();
		count(this.database, result.meta);
		return result;
	}

	async all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
		const result = await this.inner.all<T>();
		count(this.database, result.meta);
		return result;
	}

	first<T = unknown>(colName: string): Promise<T | null>;
	first<T = Record<string, unknown>>(): Promise<T | null>;
	async first<T>(colName?: string): Promise<T | null> {
		const row = (await this.all<Record<string, unknown>>()).results[0];
		if (row === undefined) return null;
		if (colName === undefined) return row as T;
		// D1's own first(column) refuses a column the row does not have, with this message.
		if (row[colName] === undefined) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${colName})`);
		return row[colName] as T;
	}

	raw<T = unknown[]>(options: { columnNames: true }): Promise<[string[], ...T[]]>;
	raw<T = unknown[]>(options?: { columnNames?: false }): Promise<T[]>;
	/** Through all(): a query naming two result columns alike keeps only the last one's value. */
	async raw<T = unknown[]>(options?: { columnNames?: boolean }): Promise<T[] | [string[], ...T[]]> {
		const { results } = await this.all<Record<string, unknown>>();
		const rows = results.map((row) => Object.values(row) as T);
		if (!options?.columnNames) return rows;
		return [Object.keys(results[0] ?? {}), ...rows];
	}
}

/** The runtime's own statement, for batch(); one not made here passes unchanged. */
function unwrap(statement: D1PreparedStatement): D1PreparedStatement {
	return statement instanceof MeteredStatement ? statement.inner : statement;
}

function meteredBatch(database: string, target: Pick<D1Database, "batch">): D1Database["batch"] {
	return async <T>(statements: D1PreparedStatement[]) => {
		const results = await target.batch<T>(statements.map(unwrap));
		// One transaction, however many of its statements wrote.
		for (const result of results) count(database, result.meta, false);
		if (results.some((result) => result.meta.rows_written > 0)) meter.add("d1Writes");
		return results;
	};
}

/** `database` names the binding, so growth is measured per database. */
export function meteredD1(db: D1Database, database: string): D1Database {
	return {
		prepare: (query) => new MeteredStatement(db.prepare(query), database),
		batch: meteredBatch(database, db),
		// exec() reports no rows; the relay runs it only for migrations and tests.
		exec: (query) => db.exec(query),
		withSession(constraintOrBookmark) {
			const session = db.withSession(constraintOrBookmark);
			return {
				prepare: (query) => new MeteredStatement(session.prepare(query), database),
				batch: meteredBatch(database, session),
				getBookmark: () => session.getBookmark(),
			};
		},
		dump: () => db.dump(),
	};
}
