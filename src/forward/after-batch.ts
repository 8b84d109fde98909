import { raiseAlert } from "../alerts/raise-alert";
import { report } from "../destinations/gate-client";
import type { Destinations } from "../destinations/read-destinations";
import type { Leases } from "./gate-batch";
import type { Settlement } from "./settle-message";

/**
 * What each gated destination's attempts did, for its breaker and concurrency slots. Only attempts
 * that reached the network count: a missing secret or a forgotten event says nothing about the
 * endpoint.
 */
export async function reportToGates(
	env: Env,
	destinations: Destinations | null,
	leases: Leases,
	settlements: readonly Settlement[],
): Promise<void> {
	await Promise.all(
		[...leases].map(async ([name, lease]) => {
			const destination = destinations?.byName.get(name);
			if (destination === undefined) return;
			const posted = settlements.filter((s) => s.destination === name && s.durationMs !== null);
			const failures = posted.filter((s) => s.outcome !== "delivered");
			if (lease === null && posted.length === 0) return;
			await report(env, destination, {
				lease,
				delivered: posted.length - failures.length,
				failed: failures.length,
				lastError: failures.at(-1)?.error ?? null,
			});
		}),
	);
}

/** Dead events, counted into one alert per destination per window (src/alerts). */
export async function alertDead(env: Env, dead: readonly Settlement[]): Promise<void> {
	const byDestination = Map.groupBy(dead, (settlement) => settlement.destination);
	await Promise.all(
		[...byDestination].map(([destination, settlements]) =>
			raiseAlert(env, {
				type: "relay.event.dead",
				key: destination,
				count: settlements.length,
				data: { destination, lastError: settlements.at(-1)?.error ?? null },
				ids: settlements.map((settlement) => settlement.eventId),
			}),
		),
	);
}
