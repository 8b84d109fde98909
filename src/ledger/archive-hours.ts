import { archiveKey } from "../archive/archive-layout";
import { writeArchiveHour } from "../archive/write-archive-hour";
import { errorMessage, log } from "../log";
import { DAY_MS, type Hour, hourOf, hourStart, nextHour, partitionOf } from "./partitions";
import { type DayTables, readableJsonOf } from "./store/day-tables";
import type { LedgerSql } from "./store/ledger-sql";

/** An hour is archived once it is this far behind: a callback is accepted within seconds of its receipt. */
export const ARCHIVE_CLOSE_MS = 10 * 60 * 1000;
/** Hours one maintenance run archives at most: bounds a run after a long R2 outage. */
const ARCHIVE_HOURS_PER_RUN = 48;
const ARCHIVE_PAGE_ROWS = 500;
/** An erasure that keeps landing while an hour is written: write it again at most this often, then next run. */
const REWRITES_PER_HOUR = 3;
/** Where a ledger remembers the first hour it has not archived yet. */
export const ARCHIVED_THROUGH = "archived_through";
/** The hour a write started on: found again at the next write, it was interrupted and may have left parts. */
const ARCHIVING = "archiving";

export interface ArchiveRun {
	/** The first hour not yet written: every event accepted before it is in the archive. */
	through: Hour;
	events: number;
	/** Why the run stopped short of the closed hours (an R2 write failed); null when it did not. */
	error: string | null;
}

/**
 * A ledger's archive runs and the erasures that overlap them: a write in progress when an erasure
 * lands writes its hour again, and the erasure waits for that before it answers (its caller scans
 * the archive next, and must see the hour as it ends up).
 */
export class ArchiveRuns {
	#erasures = 0;
	#running: Promise<unknown> | null = null;

	get erasures(): number {
		return this.#erasures;
	}

	async run<T>(work: Promise<T>): Promise<T> {
		this.#running = work;
		try {
			return await work;
		} finally {
			if (this.#running === work) this.#running = null;
		}
	}

	/** An erasure has deleted rows: resolves once no archive run reads the old ones. */
	async erased(): Promise<void> {
		this.#erasures += 1;
		await this.#running?.catch(() => undefined);
	}
}

export interface ArchiveTarget {
	archive: R2Bucket;
	ledger: string;
	db: LedgerSql;
	days: DayTables;
	/** Counts the ledger's erasures: one during a write makes the written hour stale. */
	erasures: () => number;
}

/**
 * Writes a ledger's closed hours to R2, oldest first, each under a fixed name, and remembers how
 * far it got. `open` moves past an hour while it is written, so that a straggler accepted meanwhile
 * is filed under a later one; if the write fails, `open` goes back to the hour, which stays the
 * first not archived and is written again by the next run (the archive horizon, and so D1's
 * retention and the ledger's forgetting, wait for it). An erasure of this ledger during a write
 * makes the hour's objects stale: it is written again from the rows the erasure left.
 */
export async function archiveClosedHours(
	target: ArchiveTarget,
	open: { get(): Hour | null; set(hour: Hour): void },
	now: number,
): Promise<ArchiveRun> {
	const { db, days } = target;
	const closed = hourOf(now - ARCHIVE_CLOSE_MS);
	let hour = open.get() ?? days.oldestHour() ?? closed;
	let events = 0;
	for (let runs = 0; hour < closed && runs < ARCHIVE_HOURS_PER_RUN; runs += 1) {
		if (days.has(partitionOf(hour))) {
			open.set(nextHour(hour));
			try {
				events += await writeHour(target, hour);
			} catch (error) {
				open.set(hour);
				const message = errorMessage(error);
				log.error("archive_write_failed", { ledger: target.ledger, hour, error: message });
				return { through: hour, events, error: message };
			}
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
	return { through: hour, events, error: null };
}

/**
 * One hour, written until no erasure overlapped the write. A write that follows an interrupted or
 * stale one may produce fewer parts than it: the parts beyond are deleted, or their events would
 * be in the archive twice.
 */
async function writeHour(target: ArchiveTarget, hour: Hour): Promise<number> {
	const { archive, ledger, db, days } = target;
	let rewrite = db.getMeta(ARCHIVING) === hour;
	if (!rewrite) db.setMeta(ARCHIVING, hour);
	for (let attempt = 0; ; attempt += 1) {
		const erasures = target.erasures();
		const written = await writeArchiveHour(archive, ledger, hour, pagesOf(days, hour));
		if (rewrite) await deletePartsFrom(archive, ledger, hour, written.objects);
		if (target.erasures() === erasures || attempt + 1 >= REWRITES_PER_HOUR) {
			if (target.erasures() !== erasures) throw new Error("erasures kept landing while the hour was written");
			return written.events;
		}
		rewrite = true;
	}
}

/** Deletes the hour's parts numbered `from` and up (R2 deletes are free; the list is one Class A operation). */
async function deletePartsFrom(archive: R2Bucket, ledger: string, hour: Hour, from: number): Promise<void> {
	const first = archiveKey(hour, ledger, 0);
	const prefix = first.slice(0, first.length - "000.ndjson.gz".length);
	const listed = await archive.list({ prefix });
	const stale = listed.objects.map((object) => object.key).filter((key) => key >= archiveKey(hour, ledger, from));
	if (stale.length > 0) await archive.delete(stale);
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
