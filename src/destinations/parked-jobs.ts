import { utf8Bytes } from "../db/row-size";
import type { ForwardJob } from "../forward/forward-job";
import { BATCH_MAX_BYTES, BATCH_MAX_MESSAGES, MESSAGE_OVERHEAD_BYTES } from "../ledger/queue-chunks";

/*
 * Jobs a destination's gate holds while it is paused or its breaker is open, parked in the gate's
 * own storage instead of cycling through the queue: one row per consumer batch's held jobs (split
 * at PARK_ROW_MAX_BYTES), not one per job, so holding costs a row written per batch however long
 * the hold lasts, and the gate can send them back the moment it lets events through again.
 */

export type ParkReason = "paused" | "breaker";

export const PARKED_SCHEMA = `
CREATE TABLE IF NOT EXISTS parked (
  id INTEGER PRIMARY KEY,
  since INTEGER NOT NULL,
  reason TEXT NOT NULL,
  count INTEGER NOT NULL,
  ids TEXT NOT NULL,
  jobs TEXT NOT NULL
);`;

/** Far under SQLite's 2 MB row: a queue job is at most 128 KB, so a row always takes one. */
const PARK_ROW_MAX_BYTES = 1_000_000;

type Exec = (query: string, ...bindings: SqlStorageValue[]) => Record<string, SqlStorageValue>[];

export interface ParkedRow {
	id: number;
	since: number;
	jobs: ForwardJob[];
}

/** Where each of some event ids waits, for the admin API's delivery state. */
export interface ParkedPlace {
	reason: ParkReason;
	since: number;
}

const sizeOf = (job: ForwardJob) => utf8Bytes(JSON.stringify(job)) + MESSAGE_OVERHEAD_BYTES;

/** Splits jobs into groups whose sizes stay within `maxBytes` and `maxCount`, each group at least one job. */
export function groupsOf(jobs: readonly ForwardJob[], maxBytes: number, maxCount: number): ForwardJob[][] {
	const groups: ForwardJob[][] = [];
	let group: ForwardJob[] = [];
	let bytes = 0;
	for (const job of jobs) {
		const size = sizeOf(job);
		if (group.length > 0 && (group.length === maxCount || bytes + size > maxBytes)) {
			groups.push(group);
			group = [];
			bytes = 0;
		}
		group.push(job);
		bytes += size;
	}
	if (group.length > 0) groups.push(group);
	return groups;
}

/** The groups one sendBatch each can take (Queues: 100 messages, 256 KB). */
export function sendGroupsOf(jobs: readonly ForwardJob[]): ForwardJob[][] {
	return groupsOf(jobs, BATCH_MAX_BYTES, BATCH_MAX_MESSAGES);
}

export class ParkedJobs {
	constructor(readonly exec: Exec) {}

	/** Stores the jobs; answers the rows written. */
	add(reason: ParkReason, jobs: readonly ForwardJob[], now: number): number {
		const rows = groupsOf(jobs, PARK_ROW_MAX_BYTES, Number.POSITIVE_INFINITY);
		for (const group of rows) {
			this.exec(
				"INSERT INTO parked (since, reason, count, ids, jobs) VALUES (?, ?, ?, ?, ?)",
				now,
				reason,
				group.length,
				group.map((job) => job.eventId).join(" "),
				JSON.stringify(group),
			);
		}
		return rows.length;
	}

	/** The oldest rows, whole, until `maxJobs` jobs or `maxBytes` of them are taken (at least one row). */
	oldest(maxJobs: number, maxBytes: number): ParkedRow[] {
		const rows: ParkedRow[] = [];
		let jobs = 0;
		let bytes = 0;
		let after = 0;
		while (jobs < maxJobs && bytes < maxBytes) {
			const row = this.exec("SELECT id, since, jobs FROM parked WHERE id > ? ORDER BY id LIMIT 1", after)[0];
			if (row === undefined) break;
			const body = row.jobs as string;
			const parsed = JSON.parse(body) as ForwardJob[];
			rows.push({ id: row.id as number, since: row.since as number, jobs: parsed });
			jobs += parsed.length;
			bytes += body.length;
			after = row.id as number;
		}
		return rows;
	}

	/** Keeps only `jobs` of a row (the rest went out); removes it when none are left. */
	keep(id: number, jobs: readonly ForwardJob[]): void {
		if (jobs.length === 0) {
			this.exec("DELETE FROM parked WHERE id = ?", id);
			return;
		}
		this.exec(
			"UPDATE parked SET count = ?, ids = ?, jobs = ? WHERE id = ?",
			jobs.length,
			jobs.map((job) => job.eventId).join(" "),
			JSON.stringify(jobs),
			id,
		);
	}

	/** How many jobs wait, and since when the oldest has. */
	tally(): { jobs: number; since: number | null } {
		const row = this.exec("SELECT coalesce(sum(count), 0) AS jobs, min(since) AS since FROM parked")[0];
		return { jobs: Number(row?.jobs ?? 0), since: row?.since === null || row === undefined ? null : Number(row.since) };
	}

	/** Where these ids are parked: only rows that hold one of them are read whole. */
	locate(ids: readonly string[]): Map<string, ParkedPlace> {
		const found = new Map<string, ParkedPlace>();
		if (ids.length === 0) return found;
		const rows = this.exec(
			`SELECT reason, since, ids FROM parked
			 WHERE EXISTS (SELECT 1 FROM json_each(?) wanted WHERE instr(' ' || parked.ids || ' ', ' ' || wanted.value || ' ') > 0)`,
			JSON.stringify(ids),
		);
		const wanted = new Set(ids);
		for (const row of rows) {
			for (const id of String(row.ids).split(" ")) {
				if (wanted.has(id) && !found.has(id)) {
					found.set(id, { reason: row.reason as ParkReason, since: row.since as number });
				}
			}
		}
		return found;
	}
}
