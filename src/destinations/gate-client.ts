import { raiseAlert } from "../alerts/raise-alert";
import { errorMessage, log } from "../log";
import { within } from "../within";
import { pauseHoldMs } from "./gate-policy";
import type { Admission, AttemptReport, GateStatus, GateTransition } from "./gate-rpc";
import type { Destination } from "./read-destinations";

/** A gate that does not answer by then is passed: it only ever holds events back. */
const GATE_TIMEOUT_MS = 3_000;
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
): Promise<Admission> {
	const open: Admission = { startsInMs: ids.map(() => 0), holdMs: 0, reason: null, lease: null };
	try {
		const request = {
			ids,
			maxPerSecond: destination.maxPerSecond,
			maxConcurrency: destination.maxConcurrency,
			leaseMs,
		};
		return await within(gateOf(env, destination.name).admit(request), GATE_TIMEOUT_MS, () => {
			throw new Error(`the gate did not answer in ${GATE_TIMEOUT_MS} ms`);
		});
	} catch (error) {
		log.error("gate_admit_failed", { destination: destination.name, error: errorMessage(error) });
		return open;
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
	let transitions: GateTransition[];
	try {
		transitions = await within(gateOf(env, destination.name).report(attempts), GATE_TIMEOUT_MS, () => {
			throw new Error(`the gate did not answer in ${GATE_TIMEOUT_MS} ms`);
		});
	} catch (error) {
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
