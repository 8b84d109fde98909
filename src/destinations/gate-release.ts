import type { ForwardJob } from "../forward/forward-job";
import { SLOT_HORIZON_MS } from "./gate-policy";
import type { GateState } from "./gate-state";
import { type ParkedJobs, sendGroupsOf } from "./parked-jobs";

/*
 * How a gate sends its parked jobs back to the queue (src/destinations/destination-gate.do.ts):
 * all of them once it lets events through again (a resume, a probe that closed the breaker), at
 * most a rate limit's few seconds' worth at a time so the consumers do not hold them back again
 * for their slots, or one of them as the probe of an open breaker. A job goes back as it was
 * parked: its attempt count carried, so the wait spent none of its retry schedule.
 */

/** One alarm's release when the destination has no rate limit: bounded so an alarm stays short. */
const RELEASE_MAX_JOBS = 5_000;
const RELEASE_MAX_BYTES = 8 * 1024 * 1024;
/** After a failed release (the queue refused), the next try waits this long, doubling. */
const RELEASE_RETRY_FIRST_MS = 5_000;
const RELEASE_RETRY_MAX_MS = 5 * 60_000;

export interface Released {
	jobs: number;
	/** When the next part may go (epoch ms), when more wait. */
	nextAt: number | null;
}

async function sendAll(queue: Queue, rows: ParkedJobs, row: { id: number; jobs: ForwardJob[] }): Promise<number> {
	let sent = 0;
	try {
		for (const group of sendGroupsOf(row.jobs)) {
			await queue.sendBatch(group.map((body) => ({ body, contentType: "json" as const })));
			sent += group.length;
		}
	} finally {
		// What went is not kept: a failure part-way re-sends none of it.
		rows.keep(row.id, row.jobs.slice(sent));
	}
	return sent;
}

/** Sends the oldest parked rows back, paced by the rate limit; throws when the queue refuses (what went is kept off). */
export async function releaseParked(queue: Queue, rows: ParkedJobs, state: GateState, now: number): Promise<Released> {
	const perSecond = state.maxPerSecond;
	const maxJobs = perSecond === null ? RELEASE_MAX_JOBS : Math.max(1, Math.ceil((perSecond * SLOT_HORIZON_MS) / 1000));
	let jobs = 0;
	try {
		for (const row of rows.oldest(maxJobs, RELEASE_MAX_BYTES)) jobs += await sendAll(queue, rows, row);
	} finally {
		const left = rows.tally();
		state.parkedJobs = left.jobs;
		state.parkedSince = left.since;
	}
	state.releaseFailures = 0;
	if (state.parkedJobs === 0) return { jobs, nextAt: null };
	return { jobs, nextAt: perSecond === null ? now : now + Math.round((jobs / perSecond) * 1000) };
}

/** Sends the oldest parked job alone, as an open breaker's probe; false when none waits. */
export async function releaseProbe(queue: Queue, rows: ParkedJobs, state: GateState): Promise<boolean> {
	const [row] = rows.oldest(1, 1);
	const probe = row?.jobs[0];
	if (row === undefined || probe === undefined) return false;
	await queue.sendBatch([{ body: probe, contentType: "json" }]);
	rows.keep(row.id, row.jobs.slice(1));
	const left = rows.tally();
	state.parkedJobs = left.jobs;
	state.parkedSince = left.since;
	return true;
}

export function releaseRetryMs(failures: number): number {
	return Math.min(RELEASE_RETRY_MAX_MS, RELEASE_RETRY_FIRST_MS * 2 ** Math.max(0, failures - 1));
}
