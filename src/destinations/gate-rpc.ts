import type { ForwardJob } from "../forward/forward-job";
import type { BreakerState } from "./gate-policy";
import type { RecentSummary } from "./gate-state";
import type { ParkReason } from "./parked-jobs";

/* What a destination's gate (src/destinations/destination-gate.do.ts) is asked and answers. */

export interface AdmitRequest {
	/** The destination's name, which the gate keeps (to notice when it is no longer configured). */
	destination?: string;
	/** Event ids of one consumer batch's jobs for this destination, in order. */
	ids: string[];
	maxPerSecond: number | null;
	maxConcurrency: number | null;
	/** How long the admitted attempts may hold their concurrency slots if they never report. */
	leaseMs: number;
}

export type HoldReason = "paused" | "breaker" | "rate" | "concurrency";

export interface Admission {
	/**
	 * For the first `startsAt.length` ids: when each may start (epoch ms; 0: now). Absolute, so the
	 * time the answer takes to arrive does not shift one batch's slots onto another's.
	 */
	startsAt: number[];
	/** The rest wait this long (back in the queue), for `reason`. */
	holdMs: number;
	reason: HoldReason | null;
	lease: string | null;
	/** Not paused, breaker closed, no failure since the last success: a consumer may skip asking for a while. */
	clear: boolean;
}

export interface AttemptReport {
	lease: string | null;
	/** Attempts that got an answer the relay counts as delivered. */
	delivered: number;
	/** Attempts that were made (a POST went out) and failed. */
	failed: number;
	lastError: string | null;
	/** Attempts let through by a consumer on its own since its last report (the gate was clear). */
	admittedLocally?: number;
}

export type GateTransition = "failing" | "opened" | "recovered";

export interface ReportAnswer {
	transitions: GateTransition[];
	clear: boolean;
}

export interface GateStatus {
	breaker: BreakerState;
	paused: boolean;
	pausedBy: "operator" | null;
	pausedAt: string | null;
	consecutiveFailures: number;
	nextProbeAt: string | null;
	lastSuccessAt: string | null;
	lastFailureAt: string | null;
	lastError: string | null;
	/** Events held back (paused, breaker, rate) and not yet let through. */
	backlog: number;
	/** Since when the longest-held of them has waited. */
	backlogSince: string | null;
	recent: RecentSummary;
	/** Attempts and failures per hour over the last 24 hours, oldest first. */
	hourly: Array<{ hour: string; attempts: number; failed: number }>;
}

/** Jobs held back by a pause or an open breaker, for the gate to keep until it lets events through. */
export interface ParkRequest {
	destination: string;
	reason: ParkReason;
	jobs: ForwardJob[];
}

/** Where each asked-for event waits at this gate, if it does: parked, or held for the rate or concurrency limit. */
export interface Whereabouts {
	places: Record<string, { reason: HoldReason; since: string }>;
	/** When an open breaker probes next (null when closed). */
	nextProbeAt: string | null;
}
