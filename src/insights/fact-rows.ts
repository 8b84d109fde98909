import type { LedgerSql } from "../ledger/store/ledger-sql";
import { decodeCounts, type EarlierEvent, encodeCounts, type Fact, numberOf } from "./facts";

/*
 * Where a ledger's day tables keep each event's fact: the `insight` column (src/ledger/store/
 * day-tables.ts). Everything the insights read from or write to a ledger row goes through this
 * module, so a change of the row's format is a change here: the recipient, status, application and
 * numbers are read from the row's metadata JSON (a format with them as plain columns reads those),
 * and the column holds only the counts (facts.ts encodeCounts), since the row has the rest.
 */

/** What the `insight` column holds for a fact. */
export function storedFact(fact: Fact | null): string | null {
	return encodeCounts(fact);
}

const INSIGHT_COLUMN = /\binsight\s+TEXT\b/i;

/**
 * Gives day tables created before insights their `insight` column (NULL for their rows: they
 * counted nothing). An ALTER TABLE ADD COLUMN is a schema change: no row is rewritten.
 */
export function addInsightColumn(db: LedgerSql, partitions: readonly string[]): void {
	if (partitions.length === 0) return;
	const tables = db.all<{ name: string; sql: string | null }>(
		"SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name LIKE 'p\\_%' ESCAPE '\\'",
	);
	const missing = tables.filter((table) => partitions.includes(table.name) && !INSIGHT_COLUMN.test(table.sql ?? ""));
	for (const table of missing) db.run(`ALTER TABLE ${table.name} ADD COLUMN insight TEXT`);
}

/** The message's earlier events (every recipient): synchronous, for the accept transaction. */
export function earlierEvents(db: LedgerSql, partitions: readonly string[], messageId: string): EarlierEvent[] {
	return partitions.flatMap((name) =>
		db
			.all<{ recipient: string | null; status: string | null; insight: string | null }>(
				`SELECT json_extract(meta, '$.recipient') AS recipient, json_extract(meta, '$.status') AS status, insight
				 FROM ${name} WHERE message_id = ?`,
				messageId,
			)
			.map((row) => ({ recipient: row.recipient ?? "", status: row.status, fact: decodeCounts(row.insight) })),
	);
}

/** The facts of the rows accepted in (after, before), in the given day tables. */
export function factsAcceptedBetween(
	db: LedgerSql,
	partitions: readonly string[],
	after: number,
	before: number,
): Fact[] {
	return partitions.flatMap((name) =>
		db
			.all<{
				insight: string;
				application_id: string | null;
				direction: string | null;
				from_number: string | null;
				owner: string | null;
			}>(
				`SELECT insight, json_extract(meta, '$.application_id') AS application_id,
				   json_extract(meta, '$.direction') AS direction, json_extract(meta, '$.from_number') AS from_number,
				   json_extract(meta, '$.owner') AS owner
				 FROM ${name} WHERE accepted_at > ? AND accepted_at < ? AND insight IS NOT NULL`,
				after,
				before,
			)
			.flatMap((row) => {
				const key = {
					applicationId: row.application_id ?? "",
					number: numberOf(row.direction, row.from_number, row.owner),
				};
				const fact = decodeCounts(row.insight, key);
				return fact === null ? [] : [fact];
			}),
	);
}
