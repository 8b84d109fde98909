import type { BreakerState } from "./gate-policy";

/** One minute of a destination's attempts, for its recent failure rate and current rate. */
interface MinuteCounts {
	minute: number;
	admitted: number;
	delivered: number;
	failed: number;
}

/** What a gate keeps across restarts (one row): its breaker, its pause, and what it last saw. */
export interface GateState {
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
