import { writeArchiveHour } from "../archive/write-archive-hour";
import { DAY_MS, type Hour, hourOf, hourStart, nextHour, partitionOf } from "./partitions";
import { type DayTables, readableJsonOf } from "./store/day-tables";
import type { LedgerSql } from "./store/ledger-sql";

/** An hour is archived once it is this far behind: a callback is accepted within seconds of its receipt. */
export const ARCHIVE_CLOSE_MS = 10 * 60 * 1000;
/** Hours one maintenance run archives at most: bounds a run after a long R2 outage. */
const ARCHIVE_HOURS_PER_RUN = 48;
const ARCHIVE_PAGE_ROWS = 500;
/** Where a ledger remembers the first hour it has not archived yet. */
export const ARCHIVED_THROUGH = "archived_through";

export interface ArchiveRun {
	/** The first hour not yet written: every event accepted before it is in the archive. */
	through: Hour;
	events: number;
}

/**
 * Writes a ledger's closed hours to R2, oldest first, each under a fixed name, and remembers how
 * far it got. `open` moves past an hour before it is written, so that a straggler accepted while
 * the hour is being written is filed under a later one: an hour's object, once written, is final.
 */
export async function archiveClosedHours(
	target: { archive: R2Bucket; ledger: string; db: LedgerSql; days: DayTables },
	open: { get(): Hour | null; set(hour: Hour): void },
	now: number,
): Promise<ArchiveRun> {
	const { archive, ledger, db, days } = target;
	const closed = hourOf(now - ARCHIVE_CLOSE_MS);
	let hour = open.get() ?? days.oldestHour() ?? closed;
	let events = 0;
	for (let runs = 0; hour < closed && runs < ARCHIVE_HOURS_PER_RUN; runs += 1) {
		if (days.has(partitionOf(hour))) {
			open.set(nextHour(hour));
			const written = await writeArchiveHour(archive, ledger, hour, pagesOf(days, hour));
			events += written.events;
		} else {
			// A day with no table has nothing to write: go to the next day at once.
			open.set(hourOf(Math.min(hourStart(closed), dayAfter(hour))));
		}
		hour = open.get() ?? closed;
		db.setMeta(ARCHIVED_THROUGH, hour);
	}
	if (hour >= closed) {
		open.set(hour);
		if (db.getMeta(ARCHIVED_THROUGH) !== hour) db.setMeta(ARCHIVED_THROUGH, hour);
	}
	return { through: hour, events };
}

async function* pagesOf(days: DayTables, hour: Hour): AsyncGenerator<string> {
	let after: [string, string] | null = null;
	for (;;) {
		const page = days.hourPage(hour, after, ARCHIVE_PAGE_ROWS);
		for (const row of page) {
			const json = await readableJsonOf(row);
			if (json !== null) yield json;
		}
		const last = page.at(-1);
		if (last === undefined || page.length < ARCHIVE_PAGE_ROWS) return;
		after = [last.message_id, last.id];
	}
}

function dayAfter(hour: Hour): number {
	const start = hourStart(hour);
	return start - (start % DAY_MS) + DAY_MS;
}
