import { readFirstTries } from "../../db/attempts.repository";
import type { Delivery } from "../../db/deliveries.repository";
import type { EventReceipt } from "../../db/event-receipts";

/**
 * First tries (src/db/attempts.repository.ts) as the admin API lists attempts: attempt 1, no row
 * id (they have no deliveries row), with the time their batch recorded them.
 */
export async function firstTryDeliveries(
	db: D1Database,
	receipts: readonly Pick<EventReceipt, "id" | "received_at">[],
): Promise<Delivery[]> {
	const found = await readFirstTries(
		db,
		receipts.map((receipt) => ({ id: receipt.id, receivedAt: receipt.received_at })),
	);
	return found.map((attempt) => ({
		id: null,
		eventId: attempt.eventId,
		destination: attempt.destination,
		attempt: 1,
		outcome: attempt.outcome,
		httpStatus: attempt.httpStatus,
		error: attempt.error,
		durationMs: attempt.durationMs,
		at: attempt.at,
		nextAttemptAt: null,
	}));
}

/**
 * A page's attempts with the first tries put in: a first try comes before every row of its own
 * (event, destination), which all followed it; otherwise the page keeps its order.
 */
export function withFirstTries(rows: readonly Delivery[], firstTries: readonly Delivery[]): Delivery[] {
	const pending = [...firstTries].sort((a, b) => a.at.localeCompare(b.at));
	const merged: Delivery[] = [];
	for (const row of rows) {
		while (pending.length > 0) {
			const next = pending[0] as Delivery;
			const own = next.eventId === row.eventId && next.destination === row.destination;
			if (!own && next.at > row.at) break;
			merged.push(pending.shift() as Delivery);
		}
		merged.push(row);
	}
	return [...merged, ...pending];
}
