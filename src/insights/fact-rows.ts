import { readableJsonOf } from "../ledger/store/day-tables";
import type { LedgerSql } from "../ledger/store/ledger-sql";
import { decodeFact, type EarlierEvent, encodeFact, type Fact, type FactKey, numberOf } from "./facts";

/*
 * Where a ledger's day tables keep each event's fact: the `insight` column (src/ledger/store/
 * day-tables.ts). Everything the insights read from or write to a ledger row goes through here, so
 * a change of the row's format is a change here only. What a row says besides its fact is read
 * from whichever the table has: plain `recipient` / `status` columns, or the `meta` JSON of rows
 * written before them (a format with both, and `meta` empty on newer rows, reads each row's own).
 * The fact holds only its counts (11 to 24 bytes: a row over ~1,000 bytes spills into a 4 KB
 * overflow page, and the bytes per event bound a ledger's rate); its application and number are
 * the row's own, read back from `meta`, or from the event in the row's body when it has no `meta`.
 */

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
		return encodeFact(fact);
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

	/**
	 * The facts of the rows accepted in (after, before), in the given day tables. A row whose key
	 * is not in its `meta` has its body decoded: this runs once per ledger instance, over the rows
	 * accepted since the last count, never on the accept path.
	 */
	async acceptedBetween(partitions: readonly string[], after: number, before: number): Promise<Fact[]> {
		const facts: Fact[] = [];
		for (const name of partitions) {
			const rows = this.#db.all<RecoveredRow>(
				`SELECT message_id, id, sequence, body, ${this.#columnsOf(name).has("meta") ? "meta" : "'' AS meta"}, insight,
				   ${KEY_FIELDS.map((field) => `${this.#field(name, field)} AS ${field}`).join(", ")}
				 FROM ${name} WHERE accepted_at > ? AND accepted_at < ? AND insight IS NOT NULL`,
				after,
				before,
			);
			for (const row of rows) {
				const fact = decodeFact(row.insight, await keyOf(row));
				if (fact !== null) facts.push(fact);
			}
		}
		return facts;
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

const KEY_FIELDS = ["application_id", "direction", "from_number", "owner"] as const;

type RecoveredRow = {
	message_id: string;
	id: string;
	sequence: number;
	body: ArrayBuffer | string;
	meta: string;
	insight: string;
} & Record<(typeof KEY_FIELDS)[number], string | null>;

/** A row's application and number: from its `meta` when it has them, else from the event in its body. */
async function keyOf(row: RecoveredRow): Promise<Pick<FactKey, "applicationId" | "number">> {
	if (row.application_id !== null) {
		return { applicationId: row.application_id, number: numberOf(row.direction, row.from_number, row.owner) };
	}
	// Built apart from the call: each row format's reader takes the fields it knows.
	const stored = { message_id: row.message_id, id: row.id, sequence: row.sequence, meta: row.meta, body: row.body };
	const json = await readableJsonOf(stored);
	if (json === null) return { applicationId: "", number: "" };
	const { data } = JSON.parse(json) as {
		data: { applicationId: string | null; direction: string | null; from: string | null; owner: string | null };
	};
	return { applicationId: data.applicationId ?? "", number: numberOf(data.direction, data.from, data.owner) };
}
