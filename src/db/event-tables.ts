/*
 * D1 keeps events in one table per quarter of a UTC day, `events_YYYYMMDDHH` with HH one of 00, 06,
 * 12 and 18: the quarter of the hour the event is filed under in its ledger and the archive (its
 * receipt, or a later hour for a straggler, see src/ledger/message-ledger.do.ts). Clustered on
 * (message_id, id) with no secondary index, an insert writes one row; retention and the byte budget
 * drop a whole table with DROP TABLE, which writes none. A quarter rather than a day because the
 * budget may drop a table whole only once it has ended: with day tables, a budget holding about a
 * day (8,000 MB at ~100 events/s) had to delete yesterday row by row, one row written per event;
 * with quarters it drops them whole and D1 holds 18 to 24 hours. A quarter rather than an hour
 * because readers name every table in their SQL (below): 120 tables at RETENTION_DAYS 30, not 720.
 *
 * `events_YYYYMMDD` (a whole day) was the layout before 2026-12-06: such tables are read, evicted
 * and dropped like the others, written no more. The table `events` of migrations 0001–0005 is the
 * legacy partition: read like the others, written no more, emptied by retention and the budget on
 * its own indexes and dropped once empty (migrations/0006).
 *
 * A reader lists the tables (sqlite_master) and queries them together in one statement. D1 allows
 * 5 terms in a compound SELECT (SQLite's default is 500; 6 fail, measured locally and reported of
 * production D1), so the terms are nested five at a time in sub-selects, whose terms count apart.
 */

export const LEGACY_EVENTS_TABLE = "events";
const EVENT_TABLE = /^events_(\d{4})(\d{2})(\d{2})(\d{2})?$/;
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** Hours a table spans: a quarter of a day. */
export const EVENT_TABLE_HOURS = 6;
/** Terms D1 takes in one compound SELECT. */
export const COMPOUND_MAX_TERMS = 5;
/** Tables one statement reads: its SQL stays well under D1's 100 KB a statement. */
export const UNION_MAX_TABLES = 200;

/**
 * The names of the partitions in sqlite_master: `events_` and 8 or 10 digits. D1 allows 50 bytes
 * in a GLOB pattern, too few to spell ten digit classes; the rest of the name must hold none but digits.
 */
export const EVENT_TABLE_NAME_SQL =
	"(length(name) IN (15, 17) AND name GLOB 'events_[0-9]*' AND substr(name, 8) NOT GLOB '*[^0-9]*')";

/** The table of the quarter a UTC time or hour ("2026-12-01T04") falls in: events_2026120100. */
export function eventTableOf(time: string): string {
	const hour = Number(time.slice(11, 13));
	const quarter = String(hour - (hour % EVENT_TABLE_HOURS)).padStart(2, "0");
	return `events_${time.slice(0, 10).replaceAll("-", "")}${quarter}`;
}

/** Where a table's span starts and ends (epoch ms), or null for the legacy table or any other name. */
function spanOf(name: string): { start: number; end: number } | null {
	const match = EVENT_TABLE.exec(name);
	if (match === null) return null;
	const start = Date.parse(`${match[1]}-${match[2]}-${match[3]}T${match[4] ?? "00"}:00:00.000Z`);
	return { start, end: start + (match[4] === undefined ? DAY_MS : EVENT_TABLE_HOURS * HOUR_MS) };
}

/** The start of a table's span (epoch ms), or null for the legacy table or any other name. */
export function eventTableStart(name: string): number | null {
	return spanOf(name)?.start ?? null;
}

/** Every event a table holds was filed under an hour before this (epoch ms); null for legacy. */
export function eventTableEnd(name: string): number | null {
	return spanOf(name)?.end ?? null;
}

/** A table of a whole day, the layout before quarters: its span is a day. */
export function isDayTable(name: string): boolean {
	const match = EVENT_TABLE.exec(name);
	return match !== null && match[4] === undefined;
}

/** The day table of the same day as a quarter table (the layout before quarters), to look in for rows written then. */
export function dayTableOf(name: string): string {
	return name.slice(0, "events_YYYYMMDD".length);
}

/** The DDL of an event table: created on first write, so it lives here rather than in a migration. */
export const eventTableSchema = (name: string) => `CREATE TABLE IF NOT EXISTS ${name} (
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
  -- The message's other numbers (message.to but the recipient), a JSON array; NULL for most
  -- events, which have none. An erasure by one of them finds the group message by it.
  participants TEXT,
  PRIMARY KEY (message_id, id)
) WITHOUT ROWID`;

export function createEventTable(db: D1Database, name: string): D1PreparedStatement {
	return db.prepare(eventTableSchema(name));
}

/**
 * The event tables, legacy first, then by start, oldest first: a name sorts by its start, and a day
 * table (the older layout) before the quarters of its day.
 */
export async function listEventTables(db: D1Database): Promise<string[]> {
	const rows = await db
		.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND (name = 'events' OR ${EVENT_TABLE_NAME_SQL})`)
		.all<{ name: string }>();
	return rows.results.map((row) => row.name).sort();
}

/**
 * The tables that can hold an event whose own time is at or after `time`: the legacy table and the
 * tables that end later than a day before it. An event is filed under its receipt, which comes after its time
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
 * Runs statements that write to these event tables in one batch (one transaction), creating the
 * tables this isolate has not seen yet in the same batch. A table dropped since (the budget can
 * empty and drop the current one) is created again and the batch retried. Answers the statements' results.
 */
export async function batchIntoEventTables(
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
