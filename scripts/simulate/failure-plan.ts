import { SIMULATED_TAG_PREFIX, type SimulatedMode } from "../sink/simulated-failures.ts";
import type { Random } from "./random.ts";
import type { MessagePlan } from "./traffic-plan.ts";

/*
 * `--failures`: some outbound messages are marked (their `tag`) for the local sink to fail
 * (scripts/sink/simulated-failures.ts): a share answered 503 once, a timeout once, a 410 (dead,
 * then replayable), and a burst of messages sent last that takes the sink down for a while, so
 * the destination's breaker opens, probes, and closes. The relay stores them all as usual: only
 * their deliveries fail.
 */

/** Of the outbound messages, about this share is marked 503, timeout or 410. */
const MARKED_SHARE = 0.35;
/** Messages in the outage burst: their events' failures in a row open the breaker (10). */
export const OUTAGE_MESSAGES = 12;

/** Marks every callback of a message with the mode (its JSON body written again). */
export function mark(plan: MessagePlan, mode: SimulatedMode): void {
	for (const callback of plan.callbacks) {
		callback.element.message.tag = `${SIMULATED_TAG_PREFIX}${mode}`;
		callback.body = JSON.stringify([callback.element]);
	}
}

/** Marks a share of the outbound messages, each mode at least once when there are three. */
export function markFailures(random: Random, plans: readonly MessagePlan[]): Map<SimulatedMode, number> {
	const marked = new Map<SimulatedMode, number>();
	const modes: SimulatedMode[] = ["503", "410", "timeout"];
	const outbound = plans.filter((plan) => plan.scenario.startsWith("outbound"));
	outbound.forEach((plan, index) => {
		if (index >= modes.length && !random.chance(MARKED_SHARE)) return;
		const mode = modes[index % modes.length] as SimulatedMode;
		mark(plan, mode);
		marked.set(mode, (marked.get(mode) ?? 0) + plan.events);
	});
	return marked;
}
