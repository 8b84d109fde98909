/*
 * The numbers of a destination's gate (src/destinations/destination-gate.do.ts), chosen from what
 * webhook senders and their users live with:
 * - the breaker opens after 10 consecutive failed attempts, across events. Ten is past any blip
 *   (a deploy, a few dropped connections), and at the retry schedule's first steps it is a few
 *   seconds of a real outage at volume; counting consecutive failures rather than a rate keeps it
 *   exact at low volume, where a rate over a window is a handful of samples;
 * - while open, one probe goes out after 30 s, then 1, 2, 4 … minutes, at most 10: an endpoint
 *   that comes back is found within 10 minutes, and one that stays down costs one attempt per
 *   10 minutes, not one per event;
 * - events held by a pause or an open breaker are parked in the gate and sent back to the queue
 *   once it lets events through (a resume, a probe that closed the breaker), within seconds; those
 *   held by the rate or concurrency limit go back to the queue with a delay of a few seconds.
 *   Either way their attempt count is unchanged: waiting is never a failed attempt.
 */
export const BREAKER_FAILURES = 10;
/** Early warning: relay.destination.failing, before the breaker opens. */
export const FAILING_AFTER = 5;
const PROBE_FIRST_MS = 30_000;
const PROBE_MAX_MS = 10 * 60_000;
/** A rate-limited attempt waits in its invocation for a slot this close; a later one goes back to the queue. */
export const SLOT_HORIZON_MS = 5_000;
/**
 * A paused destination's events that could not be parked (the gate did not answer in time) go back
 * to the queue and come back after this, then after twice as long, up to PAUSE_HOLD_MAX_MS: each
 * such hold is three queue operations per event, so a long pause must not cost one every minute.
 */
export const PAUSE_HOLD_FIRST_MS = 60_000;
const PAUSE_HOLD_MAX_MS = 15 * 60_000;
/**
 * While paused with jobs parked, the gate looks this often whether its destination is still
 * configured: a removed one's jobs are sent back, for the consumer to record them dead (replayable)
 * rather than wait for a resume nobody can give.
 */
export const PARKED_CHECK_MS = 10 * 60_000;
/**
 * The most jobs one gate parks: about 1.5 GB of typical jobs, well inside a Durable Object's
 * 10 GB. Past it, held jobs go back to the queue with a growing delay, as they did before parking.
 */
export const PARKED_MAX_JOBS = 1_000_000;
/** A probe the gate sent that never came back through it (lost with its consumer) is sent again after this. */
export const PROBE_RESEND_MS = 2 * 60_000;
/** An admitted attempt that never reports (its Worker was cancelled) frees its concurrency slot after this. */
export const LEASE_MARGIN_MS = 30_000;

export type BreakerState = "closed" | "open" | "half-open";

export function probeDelayMs(opens: number): number {
	return Math.min(PROBE_MAX_MS, PROBE_FIRST_MS * 2 ** Math.max(0, opens - 1));
}

export function pauseHoldMs(holds: number): number {
	return Math.min(PAUSE_HOLD_MAX_MS, PAUSE_HOLD_FIRST_MS * 2 ** holds);
}
