/*
 * D1 keeps events in one table per UTC day, `events_YYYYMMDD`: the day of the hour the event is
 * filed under in its ledger and the archive (its receipt, or a later hour for a straggler, see
 * src/ledger/message-ledger.do.ts). Clustered on (message_id, id) with no secondary index, an
 * insert writes one row; retention drops a whole day with DROP TABLE, which writes none. The table
 * `events` of migrations 0001–0005 is the legacy partition: read like the others, written no more,
 * emptied by retention and the budget on its own indexes and dropped once empty (migrations/0006).
 *
 * A reader lists the tables (sqlite_master) and queries them together in one statement. D1 allows
 * 5 terms in a compound SELECT (SQLite's default is 500; 6 fail, measured locally and reported of
 * production D1), so the terms are nested five at a time in sub-selects, whose terms count apart.
 */

export const LEGACY_EVENTS_TABLE = "events";
const DAY_TABLE = /^events_(\d{4})(\d{2})(\d{2})$/;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Terms D1 takes in one compound SELECT. */
export const COMPOUND_MAX_TERMS = 5;
/** Tables one statement reads: its SQL stays well under D1's 100 KB a statement. */
export const UNION_MAX_TABLES = 200;

/** The table of the day a UTC time or hour ("2026-12-01T04") falls in: events_20261201. */
export function eventTableOf(time: string): string {
	return `events_${time.slice(0, 10).replaceAll("-", "")}`;
}

/** The table of the ledger partition p_YYYYMMDD: the same day. */
export function eventTableOfPartition(partition: string): string {
	return `events_${partition.slice(2)}`;
}

/** The start of a day table's day (epoch ms), or null for the legacy table or any other name. */
export function eventTableDay(name: string): number | null {
	const match = DAY_TABLE.exec(name);
	return match === null ? null : Date.parse(`${match[1]}-${match[2]}-${match[3]}T00:00:00.000Z`);
}

/** Every event a day table holds was filed under an hour before this (epoch ms); null for legacy. */
export function eventTableEnd(name: string): number | null {
	const day = eventTableDay(name);
	return day === null ? null : day + DAY_MS;
}

/** The DDL of a day table: created on first write, so it lives here rather than in a migration. */
export const dayTableSchema = (name: string) => `CREATE TABLE IF NOT EXISTS ${name} (
  message_id TEXT NOT NULL,
  id TEXT NOT NULL,                   -- evt_…, also the CloudEvents id and the webhook-id
  sequence INTEGER NOT NULL,          -- per message, assigned by its ledger
  type TEXT NOT NULL,
  direction TEXT,
  recipient TEXT NOT NULL,
  from_number TEXT,
  owner TEXT,
  application_id TEXT,
  error_code INTEGER,
  event_time TEXT NOT NULL,
  received_at TEXT NOT NULL,
  status TEXT,
  status_rank INTEGER,
  event_gz BLOB NOT NULL,             -- the CloudEvent as forwarded, gzip (src/db/event-body.ts)
  destinations TEXT,
  PRIMARY KEY (message_id, id)
) WITHOUT ROWID`;

export function createEventTable(db: D1Database, name: string): D1PreparedStatement {
	return db.prepare(dayTableSchema(name));
}

/** The event tables, legacy first, then the days oldest first. */
export async function listEventTables(db: D1Database): Promise<string[]> {
	const rows = await db
		.prepare(
			`SELECT name FROM sqlite_master WHERE type = 'table'
			   AND (name = 'events' OR name GLOB 'events_[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]')`,
		)
		.all<{ name: string }>();
	return rows.results.map((row) => row.name).sort();
}

/** The oldest day table (its name only), or null: what /health reads instead of the table list. */
export function selectOldestDayTable(db: D1Database): D1PreparedStatement {
	return db.prepare(
		`SELECT min(name) AS name FROM sqlite_master WHERE type = 'table'
		   AND name GLOB 'events_[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'`,
	);
}

/**
 * The tables that can hold an event whose own time is at or after `time`: the legacy table and the
 * days from the one before it on. An event is filed under its receipt, which comes after its time
 * (a receipt 73 h late lands in a later table, never an earlier one); the day before allows for a
 * sender's clock running ahead of ours. An event dated more than a day after its own receipt is
 * outside: no real Bandwidth event is.
 */
export function tablesFrom(tables: readonly string[], time: string | undefined): string[] {
	if (time === undefined) return [...tables];
	const from = Date.parse(time) - DAY_MS;
	return tables.filter((name) => {
		const end = eventTableEnd(name);
		return end === null || end > from;
	});
}

export function isNoSuchEventTable(error: unknown): boolean {
	return /no such table: events/.test(String(error));
}

/**
 * Runs a reader over the current tables; if one was dropped meanwhile (retention, the budget), the
 * reader runs once more over a fresh list.
 */
export async function withEventTables<T>(db: D1Database, read: (tables: string[]) => Promise<T>): Promise<T> {
	try {
		return await read(await listEventTables(db));
	} catch (error) {
		if (!isNoSuchEventTable(error)) throw error;
		return read(await listEventTables(db));
	}
}

function groupsOf<T>(items: readonly T[], size: number): T[][] {
	const groups: T[][] = [];
	for (let start = 0; start < items.length; start += size) groups.push(items.slice(start, start + size));
	return groups;
}

/** One compound SELECT of any number of terms: five at a time, each group a sub-select. */
function nested(terms: readonly string[]): string {
	if (terms.length <= COMPOUND_MAX_TERMS) return terms.join(" UNION ALL ");
	return nested(groupsOf(terms, COMPOUND_MAX_TERMS).map((group) => `SELECT * FROM (${group.join(" UNION ALL ")})`));
}

/**
 * Every table's SELECT as one compound SELECT, one per UNION_MAX_TABLES tables (almost always
 * one). Not for terms that refer to an outer query: a sub-select in FROM cannot.
 */
export function unionsOf(tables: readonly string[], select: (table: string) => string): string[] {
	return groupsOf(tables, UNION_MAX_TABLES).map((group) => nested(group.map(select)));
}

/** `expression IN (…)` over every table's SELECT, five tables an IN; false for no table. */
export function inAny(expression: string, tables: readonly string[], select: (table: string) => string): string {
	const groups = groupsOf(tables.map(select), COMPOUND_MAX_TERMS);
	return groups.length === 0
		? "0"
		: `(${groups.map((group) => `${expression} IN (${group.join(" UNION ALL ")})`).join(" OR ")})`;
}

/** EXISTS over every table's SELECT, which may refer to the outer query, five tables an EXISTS; false for none. */
export function existsInAny(tables: readonly string[], select: (table: string) => string): string {
	const groups = groupsOf(tables.map(select), COMPOUND_MAX_TERMS);
	return groups.length === 0 ? "0" : `(${groups.map((group) => `EXISTS (${group.join(" UNION ALL ")})`).join(" OR ")})`;
}

/** Tables this isolate knows exist; a write to one it does not know creates it first. */
const known = new Set<string>();

/**
 * Runs statements that write to these day tables in one batch (one transaction), creating the
 * tables this isolate has not seen yet in the same batch. A table dropped since (the budget can
 * empty and drop today's) is created again and the batch retried. Answers the statements' results.
 */
export async function batchIntoDayTables(
	db: D1Database,
	tables: ReadonlySet<string>,
	statements: readonly D1PreparedStatement[],
): Promise<D1Result[]> {
	const run = async (create: readonly string[]) => {
		const results = await db.batch([...create.map((name) => createEventTable(db, name)), ...statements]);
		for (const name of tables) known.add(name);
		return results.slice(create.length);
	};
	try {
		return await run([...tables].filter((name) => !known.has(name)));
	} catch (error) {
		if (!isNoSuchEventTable(error)) throw error;
		for (const name of tables) known.delete(name);
		return run([...tables]);
	}
}

/** After a DROP TABLE here: a later write must create the table again. */
export function forgetEventTable(name: string): void {
	known.delete(name);
}
