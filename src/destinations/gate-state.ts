import type { BreakerState } from "./gate-policy";

/** One minute of a destination's attempts, for its recent failure rate and current rate. */
interface MinuteCounts {
	minute: number;
	admitted: number;
	delivered: number;
	failed: number;
}

/** One hour of a destination's attempts, for the 24-hour chart. */
export interface HourCounts {
	/** Hours since the epoch. */
	hour: number;
	delivered: number;
	failed: number;
}

/** What a gate keeps across restarts (one row): its breaker, its pause, and what it last saw. */
export interface GateState {
	/** Its destination's name, as the consumers name it (an object does not know the name it was made from). */
	name: string | null;
	breaker: BreakerState;
	consecutiveFailures: number;
	/** How many times the breaker has opened since it last closed: sets the probe backoff. */
	opens: number;
	probeAt: number | null;
	/** A probe in flight until then; another may go once it has passed. */
	probeUntil: number | null;
	pausedBy: "operator" | null;
	pausedAt: number | null;
	lastSuccessAt: number | null;
	lastFailureAt: number | null;
	lastError: string | null;
	/** The rate limit's next free slot (GCRA's theoretical arrival time), epoch ms. */
	nextSlotAt: number;
	/** When stale held rows were last pruned. */
	prunedAt: number;
	recent: MinuteCounts[];
	hours: HourCounts[];
	/** When the gate last sent a parked job out as the probe of an open breaker. */
	probeSentAt: number | null;
	/** Jobs parked (src/destinations/parked-jobs.ts), and since when the oldest has waited. */
	parkedJobs: number;
	parkedSince: number | null;
	/** The rate limit the consumers last asked with: parked jobs are released no faster. */
	maxPerSecond: number | null;
	/** Consecutive failed releases, for their backoff. */
	releaseFailures: number;
}

const RECENT_MINUTES = 15;

export function initialState(): GateState {
	return {
		breaker: "closed",
		consecutiveFailures: 0,
		opens: 0,
		probeAt: null,
		probeUntil: null,
		pausedBy: null,
		pausedAt: null,
		lastSuccessAt: null,
		lastFailureAt: null,
		lastError: null,
		nextSlotAt: 0,
		prunedAt: 0,
		recent: [],
		hours: [],
		probeSentAt: null,
		parkedJobs: 0,
		parkedSince: null,
		maxPerSecond: null,
		releaseFailures: 0,
		name: null,
	};
}

/** The counts of the current minute, created if needed; older than RECENT_MINUTES dropped. */
export function thisMinute(state: GateState, now: number): MinuteCounts {
	const minute = Math.floor(now / 60_000);
	state.recent = state.recent.filter((counts) => counts.minute > minute - RECENT_MINUTES);
	let counts = state.recent.find((entry) => entry.minute === minute);
	if (counts === undefined) {
		counts = { minute, admitted: 0, delivered: 0, failed: 0 };
		state.recent.push(counts);
	}
	return counts;
}

export interface RecentSummary {
	attempts: number;
	failureRate: number | null;
	/** Attempts admitted per second over the last full minute and this one. */
	ratePerSecond: number;
}

export function summarize(state: GateState, now: number): RecentSummary {
	const minute = Math.floor(now / 60_000);
	const recent = state.recent.filter((counts) => counts.minute > minute - RECENT_MINUTES);
	const delivered = recent.reduce((sum, counts) => sum + counts.delivered, 0);
	const failed = recent.reduce((sum, counts) => sum + counts.failed, 0);
	const lastTwo = recent.filter((counts) => counts.minute >= minute - 1);
	const seconds = 60 + (now % 60_000) / 1000;
	const admitted = lastTwo.reduce((sum, counts) => sum + counts.admitted, 0);
	return {
		attempts: delivered + failed,
		failureRate: delivered + failed === 0 ? null : failed / (delivered + failed),
		ratePerSecond: Math.round((admitted / seconds) * 100) / 100,
	};
}

const HOUR_MS = 60 * 60_000;
/** The chart's span: the current hour and the 23 before it. */
export const CHART_HOURS = 24;

/** Adds a report's attempts to its hour; hours older than the chart are dropped. */
export function countHour(state: GateState, now: number, delivered: number, failed: number): void {
	if (delivered === 0 && failed === 0) return;
	const hour = Math.floor(now / HOUR_MS);
	state.hours = state.hours.filter((counts) => counts.hour > hour - CHART_HOURS);
	let counts = state.hours.find((entry) => entry.hour === hour);
	if (counts === undefined) {
		counts = { hour, delivered: 0, failed: 0 };
		state.hours.push(counts);
	}
	counts.delivered += delivered;
	counts.failed += failed;
}

/** The last CHART_HOURS hours, oldest first, each with its start and its attempts (zero when none). */
export function hourly(state: GateState, now: number): Array<{ hour: string; attempts: number; failed: number }> {
	const current = Math.floor(now / HOUR_MS);
	return Array.from({ length: CHART_HOURS }, (_, index) => {
		const hour = current - CHART_HOURS + 1 + index;
		const counts = state.hours.find((entry) => entry.hour === hour);
		return {
			hour: new Date(hour * HOUR_MS).toISOString(),
			attempts: (counts?.delivered ?? 0) + (counts?.failed ?? 0),
			failed: counts?.failed ?? 0,
		};
	});
}
