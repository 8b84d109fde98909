import { type Delivery, deliveryOf } from "../../db/deliveries.repository";
import { rowsOfEvents } from "../../db/delivery-trails.repository";
import { type EventReceipt, receiptsOfEvents, routesOf } from "../../db/event-receipts";
import { whereabouts } from "../../destinations/gate-client";
import type { HoldReason, Whereabouts } from "../../destinations/gate-rpc";
import { readDestinations } from "../../destinations/read-destinations";
import type { DeliveryStateName } from "./delivery-states";
import { firstTryDeliveries } from "./first-tries";

/*
 * Where each delivery of some events stands now, for a person asking "did it get there, and if
 * not, why not": its last attempt, how many were made, and for one still waiting, what it waits
 * for — its next retry, or its gate holding it (a pause, an open breaker, the rate limit).
 */

export interface DeliveryState {
	destination: string;
	/**
	 * delivered, skipped, dead: settled. retrying: a failed attempt, the next at nextAttemptAt.
	 * held: its gate holds it (hold). queued: in the queue, not attempted yet (or a replay not yet
	 * taken up).
	 */
	state: DeliveryStateName;
	/** Attempts made (a replay's claim is not one). */
	attempts: number;
	/** The latest attempt, or the replay claim after it. */
	last: Delivery | null;
	nextAttemptAt: string | null;
	hold: { reason: HoldReason; since: string; nextProbeAt: string | null } | null;
}

export interface EventDeliveries {
	eventId: string;
	messageId: string;
	type: string;
	recipient: string;
	errorCode: number | null;
	receivedAt: string;
	deliveries: DeliveryState[];
}

/** What the rows alone say; `retrying` and `queued` may turn out to be held at the gate. */
function settledState(last: Delivery | null): DeliveryStateName {
	switch (last?.outcome) {
		case "delivered":
		case "skipped":
		case "dead":
			return last.outcome;
		case "failed":
			return "retrying";
		default:
			return "queued";
	}
}

function statesOf(receipt: EventReceipt, trail: readonly Delivery[]): DeliveryState[] {
	const names = [...new Set([...routesOf(receipt), ...trail.map((attempt) => attempt.destination)])];
	return names.map((destination) => {
		const own = trail.filter((attempt) => attempt.destination === destination);
		const last = own.at(-1) ?? null;
		return {
			destination,
			state: settledState(last),
			attempts: own.filter((attempt) => attempt.outcome !== "replayed").length,
			last,
			nextAttemptAt: last?.outcome === "failed" ? last.nextAttemptAt : null,
			hold: null,
		};
	});
}

/** Asks each configured destination's gate about the events that may wait there. */
async function askGates(env: Env, items: readonly EventDeliveries[]): Promise<Map<string, Whereabouts>> {
	const config = readDestinations(env);
	const configured = config.ok ? config.value.byName : new Map();
	const waiting = new Map<string, string[]>();
	for (const item of items) {
		for (const delivery of item.deliveries) {
			if (delivery.state !== "retrying" && delivery.state !== "queued") continue;
			if (!configured.has(delivery.destination)) continue;
			waiting.set(delivery.destination, [...(waiting.get(delivery.destination) ?? []), item.eventId]);
		}
	}
	const answers = await Promise.all(
		[...waiting].map(async ([destination, ids]) => [destination, await whereabouts(env, destination, ids)] as const),
	);
	return new Map(answers);
}

/**
 * The deliveries of these events (those D1 holds), in the order asked; `messageIds`, the messages
 * they belong to when the caller knows them, let D1 find them by key (receiptsOfEvents).
 */
export async function deliveryStates(
	env: Env,
	ids: readonly string[],
	messageIds: readonly string[] = [],
): Promise<EventDeliveries[]> {
	const db = env.DB;
	const receipts = await receiptsOfEvents(db, ids, messageIds);
	const [rows, firstTries] = await Promise.all([
		rowsOfEvents(
			db,
			receipts.map((receipt) => receipt.id),
		),
		firstTryDeliveries(db, receipts),
	]);
	const trails = Map.groupBy([...firstTries, ...rows.map(deliveryOf)], (attempt) => attempt.eventId);
	const byId = new Map(receipts.map((receipt) => [receipt.id, receipt]));
	const items = ids.flatMap((id) => {
		const receipt = byId.get(id);
		if (receipt === undefined) return [];
		return [
			{
				eventId: receipt.id,
				messageId: receipt.message_id,
				type: receipt.type,
				recipient: receipt.recipient,
				errorCode: receipt.error_code,
				receivedAt: receipt.received_at,
				deliveries: statesOf(receipt, trails.get(id) ?? []),
			},
		];
	});
	const gates = await askGates(env, items);
	for (const item of items) {
		for (const delivery of item.deliveries) {
			const gate = gates.get(delivery.destination);
			const place = gate?.places[item.eventId];
			if (gate === undefined || place === undefined) continue;
			delivery.state = "held";
			delivery.hold = { ...place, nextProbeAt: place.reason === "breaker" ? gate.nextProbeAt : null };
		}
	}
	return items;
}
