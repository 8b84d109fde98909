import { raiseAlert } from "../alerts/raise-alert";
import type { ForwardJob } from "../forward/forward-job";
import { errorMessage, log } from "../log";
import { within } from "../within";
import { pauseHoldMs } from "./gate-policy";
import type { Admission, AttemptReport, GateStatus, GateTransition, Whereabouts } from "./gate-rpc";
import type { ParkReason } from "./parked-jobs";
import type { Destination } from "./read-destinations";

/** A gate that does not answer by then is passed: it only ever holds events back. */
const GATE_TIMEOUT_MS = 3_000;

/*
 * The gate is asked only when it may say no. A destination without a rate or concurrency limit
 * whose gate last answered "clear" (not paused, breaker closed, no failure since the last success)
 * is not asked again for CLEAR_FOR_MS, and its successes are told in one report per
 * REPORT_EVERY_MS or REPORT_EVERY deliveries, not one per batch: on the common path the gate costs
 * no request and no row per event. A failure is told at once. The price: a pause, or a breaker
 * opened by another isolate's failures, reaches this isolate within CLEAR_FOR_MS.
 */
const CLEAR_FOR_MS = 30_000;
const REPORT_EVERY_MS = 60_000;
const REPORT_EVERY = 1000;

interface Local {
	clearUntil: number;
	/** Successes and local admissions not yet told. */
	delivered: number;
	admitted: number;
	reportedAt: number;
}

/** Per isolate, per destination. */
const local = new Map<string, Local>();

function localOf(name: string, now: number): Local {
	let entry = local.get(name);
	if (entry === undefined) {
		entry = { clearUntil: 0, delivered: 0, admitted: 0, reportedAt: now };
		local.set(name, entry);
	}
	return entry;
}

/** An operator's pause or resume in this isolate takes effect here at once. */
export function forgetClear(name: string): void {
	const entry = local.get(name);
	if (entry !== undefined) entry.clearUntil = 0;
}
/** The most a queue message can be delayed (Cloudflare Queues: 12 hours). */
const MAX_QUEUE_DELAY_SECONDS = 43_200;

export function gateOf(env: Pick<Env, "DESTINATION_GATE">, name: string) {
	return env.DESTINATION_GATE.get(env.DESTINATION_GATE.idFromName(name));
}

/**
 * Which of one batch's jobs for `destination` may go now. If the gate fails or is slow, all go:
 * a gate error must never hold back or lose a delivery, and the downstream still de-duplicates.
 */
export async function admit(
	env: Pick<Env, "DESTINATION_GATE">,
	destination: Destination,
	ids: string[],
	leaseMs: number,
	/** Some of them were held before: the gate must see them come back, to drop them from its backlog. */
	returning = false,
): Promise<Admission> {
	const open: Admission = { startsAt: ids.map(() => 0), holdMs: 0, reason: null, lease: null, clear: false };
	const now = Date.now();
	const entry = localOf(destination.name, now);
	const limited = destination.maxPerSecond !== null || destination.maxConcurrency !== null;
	if (!limited && !returning && entry.clearUntil > now) {
		entry.admitted += ids.length;
		return { ...open, clear: true };
	}
	try {
		const request = {
			destination: destination.name,
			ids,
			maxPerSecond: destination.maxPerSecond,
			maxConcurrency: destination.maxConcurrency,
			leaseMs,
		};
		const admission = await within(gateOf(env, destination.name).admit(request), GATE_TIMEOUT_MS, () => {
			throw new Error(`the gate did not answer in ${GATE_TIMEOUT_MS} ms`);
		});
		entry.clearUntil = admission.clear ? Date.now() + CLEAR_FOR_MS : 0;
		return admission;
	} catch (error) {
		log.error("gate_admit_failed", { destination: destination.name, error: errorMessage(error) });
		return open;
	}
}

/**
 * Parks jobs a pause or an open breaker held back in the destination's gate; true once they are
 * durable there (then, and only then, the consumer acks them). False if the gate failed or was slow:
 * the caller puts them back on the queue instead.
 */
export async function park(
	env: Pick<Env, "DESTINATION_GATE">,
	destination: string,
	reason: ParkReason,
	jobs: ForwardJob[],
): Promise<boolean> {
	try {
		const answer = await within(gateOf(env, destination).park({ destination, reason, jobs }), GATE_TIMEOUT_MS, () => {
			throw new Error(`the gate did not answer in ${GATE_TIMEOUT_MS} ms`);
		});
		if (answer.parked === jobs.length) return true;
		log.warn("gate_park_full", { destination, jobs: jobs.length });
		return false;
	} catch (error) {
		log.error("gate_park_failed", { destination, jobs: jobs.length, error: errorMessage(error) });
		return false;
	}
}

/** Where each of these events waits at a destination's gate; nowhere when the gate cannot say. */
export async function whereabouts(
	env: Pick<Env, "DESTINATION_GATE">,
	destination: string,
	ids: string[],
): Promise<Whereabouts> {
	try {
		return await gateOf(env, destination).whereabouts(ids);
	} catch (error) {
		log.error("gate_whereabouts_failed", { destination, error: errorMessage(error) });
		return { places: {}, nextProbeAt: null };
	}
}

/** How long a held job waits in the queue: its hold, spread by up to 20 % so a backlog does not return at once. */
export function holdDelaySeconds(admission: Admission, holds: number): number {
	const holdMs = admission.reason === "paused" ? pauseHoldMs(holds) : admission.holdMs;
	const spread = holdMs * (1 + Math.random() * 0.2);
	return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(1, Math.ceil(spread / 1000)));
}

const ALERT_OF: Record<
	GateTransition,
	"relay.destination.failing" | "relay.destination.paused" | "relay.destination.recovered"
> = {
	failing: "relay.destination.failing",
	opened: "relay.destination.paused",
	recovered: "relay.destination.recovered",
};

/** Tells the gate what the admitted attempts did, and the operator what changed. Never throws. */
export async function report(
	env: Pick<Env, "DESTINATION_GATE" | "ALERT_URL" | "ALERT_DESK">,
	destination: Destination,
	attempts: AttemptReport,
): Promise<void> {
	const now = Date.now();
	const entry = localOf(destination.name, now);
	entry.delivered += attempts.delivered;
	const quiet = attempts.failed === 0 && attempts.lease === null && entry.clearUntil > now;
	const due = now - entry.reportedAt >= REPORT_EVERY_MS || entry.delivered >= REPORT_EVERY;
	if (quiet && !due) return;
	const told = { ...attempts, delivered: entry.delivered, admittedLocally: entry.admitted };
	entry.delivered = 0;
	entry.admitted = 0;
	entry.reportedAt = now;
	let transitions: GateTransition[];
	try {
		const answer = await within(gateOf(env, destination.name).report(told), GATE_TIMEOUT_MS, () => {
			throw new Error(`the gate did not answer in ${GATE_TIMEOUT_MS} ms`);
		});
		transitions = answer.transitions;
		entry.clearUntil = answer.clear ? Date.now() + CLEAR_FOR_MS : 0;
	} catch (error) {
		entry.clearUntil = 0;
		log.error("gate_report_failed", { destination: destination.name, error: errorMessage(error) });
		return;
	}
	for (const transition of transitions) {
		log.warn(`destination_${transition}`, { destination: destination.name, lastError: attempts.lastError });
		await raiseAlert(env, {
			type: ALERT_OF[transition],
			key: destination.name,
			count: 1,
			data: {
				destination: destination.name,
				...(transition === "opened" ? { cause: "breaker" } : {}),
				...(transition === "recovered" ? {} : { lastError: attempts.lastError }),
			},
		});
	}
}

/** A pause or resume by the operator, told like the breaker's. */
export async function alertOperatorChange(
	env: Pick<Env, "ALERT_URL" | "ALERT_DESK">,
	name: string,
	status: GateStatus,
): Promise<void> {
	await raiseAlert(env, {
		type: status.paused ? "relay.destination.paused" : "relay.destination.recovered",
		key: name,
		count: 1,
		data: { destination: name, cause: "operator", backlog: status.backlog },
	});
}
