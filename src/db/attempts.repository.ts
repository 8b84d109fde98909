/*
 * First tries, recorded at a row per consumer batch rather than a row per event. A first attempt
 * that ends delivered (or skipped: the event matched no destination) is the common path; a
 * deliveries row for it would be a row and three index entries written per event. Instead each
 * consumer batch writes its first tries as one row per UTC minute in which their events were
 * received, into a table per UTC day of receipt:
 *
 *   attempts_YYYYMMDD (id INTEGER PRIMARY KEY, at, entries)
 *
 * `id` is the minute of the day (0–1439) times 2^32 plus the row's number within that minute, so a
 * minute's rows are one range of the table's own key: an insert is one row written (no index), and
 * a lookup reads only its minute's rows. A rowid table, not WITHOUT ROWID: a batch's row (24
 * entries, about 1.7 KB) stays in its page, where a WITHOUT ROWID row over about 1 KB spills into
 * an overflow page of its own. `at` is when the batch recorded them, and `entries` a JSON array of
 * [eventId, destination, outcome, httpStatus, durationMs, error]. An event's first tries are found
 * from its received_at: its day's table, its minute's rows, and of their entries only those with
 * its id, filtered in D1 (json_each), so a busy minute's other entries never reach the Worker. The
 * consumer creates a day's table on its first write; retention drops it whole once every event
 * received that day has left D1 (dropAttemptsBefore), as the events' own day tables are.
 */

export type FirstTryOutcome = "delivered" | "skipped";

/** One first try as the consumer settled it. */
export interface FirstTry {
	eventId: string;
	destination: string;
	outcome: FirstTryOutcome;
	httpStatus: number | null;
	durationMs: number | null;
	error: string | null;
	/** The event's data.receivedAt: where its entry is filed. */
	receivedAt: string;
}

/** A first try read back, with the time its batch recorded it. */
export type RecordedFirstTry = Omit<FirstTry, "receivedAt"> & { at: string };

type Entry = [
	eventId: string,
	destination: string,
	outcome: FirstTryOutcome,
	http: number | null,
	ms: number | null,
	error: string | null,
];

const RECEIVED = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/;
const DAY = /^\d{8}$/;
const TABLE_PREFIX = "attempts_";

/** Where an event received at `receivedAt` (UTC ISO) files its first tries; null for a time that is not one. */
export function fileOf(receivedAt: string): { day: string; minute: number } | null {
	const match = RECEIVED.exec(receivedAt);
	if (match === null) return null;
	const [, year, month, date, hours, minutes] = match as unknown as [string, string, string, string, string, string];
	return { day: `${year}${month}${date}`, minute: Number(hours) * 60 + Number(minutes) };
}

/** The table of one UTC day; the day is checked, since a table name cannot be a bound parameter. */
export function attemptsTable(day: string): string {
	if (!DAY.test(day)) throw new Error(`not a day: ${day}`);
	return `${TABLE_PREFIX}${day}`;
}

/** The UTC day (YYYYMMDD) an ISO time falls in. */
export function dayOfIso(iso: string): string {
	return iso.slice(0, 10).replaceAll("-", "");
}

/** A minute's rows are the ids from minute × 2^32 on: far more rows than a minute can hold. */
const MINUTE_SPAN = 2 ** 32;

export function createAttemptsTable(db: D1Database, day: string): D1PreparedStatement {
	return db.prepare(
		`CREATE TABLE IF NOT EXISTS ${attemptsTable(day)} (id INTEGER PRIMARY KEY, at TEXT NOT NULL, entries TEXT NOT NULL)`,
	);
}

/** The rows of the minutes in JSON array ?1, joined as `a`: one range of the key per minute. */
function minuteRows(table: string): string {
	return `json_each(?1) m JOIN ${table} a ON a.id >= m.value * ${MINUTE_SPAN} AND a.id < (m.value + 1) * ${MINUTE_SPAN}`;
}

/** A batch's first tries, one statement per (day, minute) of receipt; `days` are the tables they need. */
export function insertFirstTries(
	db: D1Database,
	firstTries: readonly FirstTry[],
	at: string,
): { days: Set<string>; statements: D1PreparedStatement[] } {
	const groups = new Map<string, { day: string; minute: number; entries: Entry[] }>();
	for (const attempt of firstTries) {
		const file = fileOf(attempt.receivedAt);
		if (file === null) continue;
		const key = `${file.day}:${file.minute}`;
		let group = groups.get(key);
		if (group === undefined) {
			group = { ...file, entries: [] };
			groups.set(key, group);
		}
		group.entries.push([
			attempt.eventId,
			attempt.destination,
			attempt.outcome,
			attempt.httpStatus,
			attempt.durationMs,
			attempt.error,
		]);
	}
	// The minute's next number, found and taken in one statement: D1 runs statements one at a
	// time, so two batches of a minute never take the same one.
	const statements = [...groups.values()].map((group) => {
		const table = attemptsTable(group.day);
		return db
			.prepare(
				`INSERT INTO ${table} (id, at, entries)
				 SELECT coalesce(max(id) + 1, ?1), ?2, ?3 FROM ${table} WHERE id >= ?1 AND id < ?1 + ${MINUTE_SPAN}`,
			)
			.bind(group.minute * MINUTE_SPAN, at, JSON.stringify(group.entries));
	});
	return { days: new Set([...groups.values()].map((group) => group.day)), statements };
}

/** True for D1's error when a day's table does not exist (never written, or dropped by retention). */
export function isMissingTable(error: unknown): boolean {
	return /no such table: attempts_/.test(error instanceof Error ? error.message : String(error));
}

/**
 * The first tries recorded for these events, each looked up under its day and minute of receipt.
 * A day without a table has none.
 */
export async function readFirstTries(
	db: D1Database,
	events: ReadonlyArray<{ id: string; receivedAt: string }>,
): Promise<RecordedFirstTry[]> {
	const byDay = new Map<string, { minutes: Set<number>; ids: string[] }>();
	for (const event of events) {
		const file = fileOf(event.receivedAt);
		if (file === null) continue;
		const day = byDay.get(file.day) ?? { minutes: new Set<number>(), ids: [] };
		day.minutes.add(file.minute);
		day.ids.push(event.id);
		byDay.set(file.day, day);
	}
	const found = await Promise.all(
		[...byDay].map(async ([day, { minutes, ids }]) => {
			try {
				const rows = await db
					.prepare(
						`SELECT a.at, e.value AS entry FROM ${minuteRows(attemptsTable(day))}, json_each(a.entries) e
						 WHERE json_extract(e.value, '$[0]') IN (SELECT value FROM json_each(?2))`,
					)
					.bind(JSON.stringify([...minutes]), JSON.stringify(ids))
					.all<{ at: string; entry: string }>();
				return rows.results;
			} catch (error) {
				if (isMissingTable(error)) return [];
				throw error;
			}
		}),
	);
	return found.flat().map(({ at, entry }) => {
		const [eventId, destination, outcome, httpStatus, durationMs, error] = JSON.parse(entry) as Entry;
		return { eventId, destination, outcome, httpStatus, durationMs, error, at };
	});
}

/**
 * Removes these events' entries (an erasure): only rows of their minutes that hold one are
 * rewritten. One statement per day of their receipt (`statements`); `rewritten` rows.
 */
export async function eraseFirstTries(
	db: D1Database,
	events: ReadonlyArray<{ id: string; receivedAt: string }>,
): Promise<{ rewritten: number; statements: number }> {
	const byDay = new Map<string, { minutes: Set<number>; ids: string[] }>();
	for (const event of events) {
		const file = fileOf(event.receivedAt);
		if (file === null) continue;
		const day = byDay.get(file.day) ?? { minutes: new Set<number>(), ids: [] };
		day.minutes.add(file.minute);
		day.ids.push(event.id);
		byDay.set(file.day, day);
	}
	let rewritten = 0;
	for (const [day, { minutes, ids }] of byDay) {
		const erased = "json_extract(value, '$[0]') IN (SELECT value FROM json_each(?2))";
		try {
			const table = attemptsTable(day);
			const result = await db
				.prepare(
					`UPDATE ${table}
					 SET entries = (SELECT json_group_array(json(value)) FROM json_each(entries) WHERE NOT (${erased}))
					 WHERE id IN (SELECT a.id FROM ${minuteRows(table)})
					   AND EXISTS (SELECT 1 FROM json_each(entries) WHERE ${erased})`,
				)
				.bind(JSON.stringify([...minutes]), JSON.stringify(ids))
				.run();
			rewritten += result.meta.changes ?? 0;
		} catch (error) {
			if (!isMissingTable(error)) throw error;
		}
	}
	return { rewritten, statements: byDay.size };
}

/** The days that have a table, oldest first. */
export async function attemptDays(db: D1Database): Promise<string[]> {
	const rows = await db
		.prepare(
			"SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'attempts\\_%' ESCAPE '\\' ORDER BY name",
		)
		.all<{ name: string }>();
	return rows.results.map((row) => row.name.slice(TABLE_PREFIX.length)).filter((day) => DAY.test(day));
}

/** Drops one day's first tries whole: no row is deleted one by one. */
export function dropAttemptsDay(db: D1Database, day: string): D1PreparedStatement {
	return db.prepare(`DROP TABLE IF EXISTS ${attemptsTable(day)}`);
}

/**
 * Drops every day's table that lies wholly before `before` (UTC ISO): the days whose events have
 * all left D1 when events go only before `before`. Answers the days dropped.
 */
export async function dropAttemptsBefore(db: D1Database, before: string): Promise<string[]> {
	const cutoffDay = dayOfIso(before);
	const days = (await attemptDays(db)).filter((day) => day < cutoffDay);
	if (days.length > 0) await db.batch(days.map((day) => dropAttemptsDay(db, day)));
	return days;
}
