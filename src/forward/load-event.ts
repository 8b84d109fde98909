import { getNormalizedJson } from "../db/events.repository";
import { ledgerFor } from "../ledger/ledger-client";
import type { LoadEvent } from "./settle-message";

/**
 * An event too large for its queue message is read from its message's ledger, which keeps it for
 * DEDUPE_DAYS — longer than the whole retry schedule — so a delivery never needs D1. Only a replay
 * of an event the ledger has forgotten falls back to D1, where the replay found it: by its key
 * when the job names its message (every job the relay queues for a large event does).
 */
export function eventLoader(env: Pick<Env, "DB" | "MESSAGE_LEDGER">): LoadEvent {
	return async (eventId, messageId) => {
		if (messageId !== undefined) {
			const body = await ledgerFor(env, messageId).body(messageId, eventId);
			if (body !== null) return body;
		}
		return getNormalizedJson(env.DB, eventId, messageId);
	};
}
