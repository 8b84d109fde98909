import { park } from "../destinations/gate-client";
import type { ParkReason } from "../destinations/parked-jobs";
import type { ForwardJob } from "./forward-job";
import { type Held, renewHeldClaims, requeueHeld } from "./gate-batch";

/**
 * A parked replay's claim (its `replayed` row) is kept this long, and again each time it is
 * parked: the gate holds the job until the destination lets events through, not for a known time.
 * A pause past it lets a second `{"dead": true}` replay claim the event again (same id).
 */
export const PARKED_CLAIM_MS = 7 * 24 * 60 * 60 * 1000;

const parkable = (item: Held): item is Held & { reason: ParkReason } =>
	(item.reason === "paused" || item.reason === "breaker") && typeof item.job.destination === "string";

/** The job as it will come back: its failed attempts carried, so the wait spends none of them. */
function parkedJob(item: Held): ForwardJob {
	const { holds: _, ...job } = item.job;
	return { ...job, priorAttempts: item.attempt - 1 };
}

/**
 * Holds back what the gates said must wait. A pause's or an open breaker's jobs are parked in
 * their destination's gate, which sends them back the moment it lets events through again; each
 * is acked only once its gate has answered, that is once it is durable there. The rate and
 * concurrency limits' jobs, and any a gate could not park, go back on the queue with their delay.
 */
export async function holdBack(env: Pick<Env, "DB" | "FORWARD_QUEUE" | "DESTINATION_GATE">, held: readonly Held[]) {
	const toQueue: Held[] = held.filter((item) => !parkable(item));
	const groups = Map.groupBy(held.filter(parkable), (item) => `${item.job.destination}\n${item.reason}`);
	await Promise.all(
		[...groups.values()].map(async (items) => {
			const [first] = items;
			if (first === undefined) return;
			const parked = await park(env, first.job.destination as string, first.reason, items.map(parkedJob));
			if (!parked) {
				toQueue.push(...items);
				return;
			}
			await renewHeldClaims(env.DB, items, PARKED_CLAIM_MS);
			for (const item of items) item.message.ack();
		}),
	);
	await requeueHeld(env, toQueue);
}
