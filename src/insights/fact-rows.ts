import type { LedgerSql } from "../ledger/store/ledger-sql";
import { decodeFact, type EarlierEvent, encodeFact, type Fact, type FactKey, numberOf } from "./facts";

/*
 * Where a ledger's day tables keep each event's fact: the `insight` column (src/ledger/store/
 * day-tables.ts). Everything the insights read from or write to a ledger row goes through here, so
 * a change of the row's format is a change here only. What a row says besides its fact is read
 * from whichever the table has: plain `recipient` / `status` columns, or the `meta` JSON of rows
 * written before them (a format with both, and `meta` empty on newer rows, reads each row's own).
 */

/**
 * True while a row's `meta` JSON holds its application id and numbers: the fact then stores only
 * its counts (11 to 24 bytes; a row over ~1,000 bytes spills into a 4 KB overflow page). A row
 * format that keeps its metadata only inside the compressed body sets this to false, and each fact
 * carries its application and number too (about 60 bytes more), so that a restarted ledger can
 * recover its counts without decompressing a body.
 */
const KEY_IN_META = true;

const INSIGHT_COLUMN = /\binsight\s+TEXT\b/i;

type Columns = ReadonlySet<string>;

export class FactRows {
	readonly #db: LedgerSql;
	readonly #columns = new Map<string, Columns>();

	constructor(db: LedgerSql) {
		this.#db = db;
	}

	/** What the `insight` column holds for a fact. */
	stored(fact: Fact | null): string | null {
		return encodeFact(fact, !KEY_IN_META);
	}

	/**
	 * Gives day tables created before insights their `insight` column (NULL for their rows: they
	 * counted nothing). An ALTER TABLE ADD COLUMN is a schema change: no row is rewritten.
	 */
	addInsightColumn(partitions: readonly string[]): void {
		const missing = partitions.filter((name) => !INSIGHT_COLUMN.test(this.#ddl(name)));
		for (const name of missing) this.#db.run(`ALTER TABLE ${name} ADD COLUMN insight TEXT`);
		if (missing.length > 0) this.#db.refresh();
		this.#columns.clear();
		this.learn(partitions);
	}

	/**
	 * Reads the columns of day tables not seen yet: once per table per instance, by the request that
	 * created the table (or the first after a restart), rather than by the event after it.
	 */
	learn(partitions: readonly string[]): void {
		for (const name of partitions) this.#columnsOf(name);
	}

	/** The message's earlier events (every recipient): synchronous, for the accept transaction. */
	earlier(partitions: readonly string[], messageId: string): EarlierEvent[] {
		return partitions.flatMap((name) =>
			this.#db
				.all<{ recipient: string | null; status: string | null; insight: string | null }>(
					`SELECT ${this.#field(name, "recipient")} AS recipient, ${this.#field(name, "status")} AS status, insight
					 FROM ${name} WHERE message_id = ?`,
					messageId,
				)
				.map((row) => ({ recipient: row.recipient ?? "", status: row.status, fact: decodeFact(row.insight) })),
		);
	}

	/** The facts of the rows accepted in (after, before), in the given day tables. */
	acceptedBetween(partitions: readonly string[], after: number, before: number): Fact[] {
		return partitions.flatMap((name) =>
			this.#db
				.all<{
					insight: string;
					application_id: string | null;
					direction: string | null;
					from_number: string | null;
					owner: string | null;
				}>(
					`SELECT insight, ${["application_id", "direction", "from_number", "owner"].map((field) => `${this.#field(name, field)} AS ${field}`).join(", ")}
					 FROM ${name} WHERE accepted_at > ? AND accepted_at < ? AND insight IS NOT NULL`,
					after,
					before,
				)
				.flatMap((row) => {
					// A fact that carries its key is read as it is; one that does not takes the row's.
					const key: Pick<FactKey, "applicationId" | "number"> = {
						applicationId: row.application_id ?? "",
						number: numberOf(row.direction, row.from_number, row.owner),
					};
					const fact = decodeFact(row.insight, key);
					return fact === null ? [] : [fact];
				}),
		);
	}

	/** A row's field: its plain column where the table has one and the row filled it, else its `meta` JSON's. */
	#field(table: string, field: string): string {
		const columns = this.#columnsOf(table);
		const fromMeta = columns.has("meta") ? `CASE WHEN meta <> '' THEN json_extract(meta, '$.${field}') END` : "NULL";
		if (!columns.has(field)) return fromMeta;
		return columns.has("meta") ? `coalesce(${field}, ${fromMeta})` : field;
	}

	#columnsOf(table: string): Columns {
		let columns = this.#columns.get(table);
		if (columns === undefined) {
			const names = this.#db.all<{ name: string }>("SELECT name FROM pragma_table_info(?)", table);
			columns = new Set(names.map((row) => row.name));
			this.#columns.set(table, columns);
		}
		return columns;
	}

	#ddl(table: string): string {
		return this.#db.all<{ sql: string | null }>("SELECT sql FROM sqlite_master WHERE name = ?", table)[0]?.sql ?? "";
	}
}
