import {
	BREAKER_FAILURES,
	FAILING_AFTER,
	PARKED_CHECK_MS,
	PROBE_RESEND_MS,
	probeDelayMs,
	SLOT_HORIZON_MS,
} from "./gate-policy";
import { releaseRetryMs } from "./gate-release";
import type { Admission, AdmitRequest, AttemptReport, GateTransition } from "./gate-rpc";
import type { GateState } from "./gate-state";

/** How long a held event waits when the gate cannot say better: a concurrency slot frees within a POST. */
const CONCURRENCY_HOLD_MS = 2_000;

/**
 * How many of a batch may start now (a probe is one), and when; the rest are held. Moves the rate
 * limit's next slot and, when a due probe is handed out, the breaker to half-open; `inFlight` is
 * how many admitted attempts have not reported yet.
 */
export function decide(state: GateState, request: AdmitRequest, now: number, inFlight: () => number): Admission {
	const none = (reason: Admission["reason"], holdMs: number): Admission => ({
		startsAt: [],
		holdMs,
		reason,
		lease: null,
		clear: false,
	});
	if (state.pausedBy !== null) return none("paused", 0);
	let allowed = request.ids.length;
	if (state.breaker !== "closed") {
		const probeAt = state.probeAt ?? now;
		const probing = state.probeUntil !== null && state.probeUntil > now;
		if (now < probeAt || probing)
			return none("breaker", Math.max(1_000, (probing ? (state.probeUntil ?? now) : probeAt) - now));
		allowed = 1;
	}
	let reason: Admission["reason"] = null;
	let holdMs = 0;
	if (request.maxConcurrency !== null) {
		const free = Math.max(0, request.maxConcurrency - inFlight());
		if (free < allowed) {
			allowed = free;
			reason = "concurrency";
			holdMs = CONCURRENCY_HOLD_MS;
		}
	}
	const startsAt: number[] = [];
	const interval = request.maxPerSecond === null ? 0 : 1000 / request.maxPerSecond;
	for (let i = 0; i < allowed; i++) {
		const slot = Math.max(now, state.nextSlotAt);
		if (interval > 0 && slot - now > SLOT_HORIZON_MS) {
			reason = "rate";
			holdMs = slot - now;
			break;
		}
		startsAt.push(Math.round(slot));
		state.nextSlotAt = slot + interval;
	}
	// A due probe is half-open only once a start is handed out: a probe held by the limits is no probe.
	if (state.breaker !== "closed" && startsAt.length > 0) {
		state.breaker = "half-open";
		// The probe the gate sent (if it was this one) is back: nothing to send again.
		state.probeSentAt = null;
		state.probeUntil = Math.max(now, startsAt[0] ?? now) + request.leaseMs;
		if (reason === null && startsAt.length < request.ids.length) {
			reason = "breaker";
			holdMs = probeDelayMs(state.opens);
		}
	}
	return { startsAt, holdMs, reason, lease: null, clear: false };
}

/**
 * What a report of attempts does to the breaker: its counts, its last error, and the transitions
 * to alert on (failing, opened, recovered).
 */
export function applyReport(state: GateState, report: AttemptReport, now: number): GateTransition[] {
	const transitions: GateTransition[] = [];
	const troubled = state.breaker !== "closed" || state.consecutiveFailures >= FAILING_AFTER;
	if (report.failed > 0) {
		state.lastFailureAt = now;
		state.lastError = report.lastError;
	}
	if (report.delivered > 0) {
		state.lastSuccessAt = now;
		state.breaker = "closed";
		state.opens = 0;
		state.probeAt = null;
		state.probeUntil = null;
		state.probeSentAt = null;
		// A report's order is unknown: its failures count as the latest, so a destination that
		// fails most of its attempts still trips the breaker whatever successes come with them.
		state.consecutiveFailures = report.failed;
		if (troubled && state.consecutiveFailures < FAILING_AFTER) transitions.push("recovered");
	} else {
		state.consecutiveFailures += report.failed;
	}
	if (report.failed > 0) {
		if (!troubled && state.consecutiveFailures >= FAILING_AFTER) transitions.push("failing");
		const tripped = state.breaker === "closed" && state.consecutiveFailures >= BREAKER_FAILURES;
		if (tripped || (state.breaker === "half-open" && report.delivered === 0)) {
			if (state.breaker === "closed") transitions.push("opened");
			state.breaker = "open";
			state.opens += 1;
			state.probeAt = now + probeDelayMs(state.opens);
			state.probeUntil = null;
		}
	}
	return transitions;
}

/** When a gate's alarm should next look at its parked jobs; null when none wait. */
export function nextLook(state: GateState, now: number, orphaned: boolean): number | null {
	if (state.parkedJobs === 0) return null;
	if (orphaned) return now;
	if (state.pausedBy !== null) return now + PARKED_CHECK_MS;
	let at = state.releaseFailures > 0 ? now + releaseRetryMs(state.releaseFailures) : now;
	if (state.breaker !== "closed") {
		at = Math.max(at, state.probeAt ?? now, state.probeUntil ?? 0);
		if (state.probeSentAt !== null) at = Math.max(at, state.probeSentAt + PROBE_RESEND_MS);
	}
	return at;
}

/** An open breaker whose probe is due and not already out. */
export function probeDue(state: GateState, now: number): boolean {
	if (state.breaker === "closed" || now < (state.probeAt ?? now)) return false;
	if (state.probeUntil !== null && state.probeUntil > now) return false;
	return state.probeSentAt === null || now - state.probeSentAt >= PROBE_RESEND_MS;
}
