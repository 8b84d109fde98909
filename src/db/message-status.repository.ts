import type { MessageEventRow } from "./event-list.repository";

/*
 * A message's status per recipient, derived from its events, never written: it cannot disagree
 * with them and costs no write per event. Computed here rather than in SQL since the events live
 * in one table per day (migrations/0006 dropped the `message_status` view over `events`).
 */

export interface RecipientStatus {
	recipient: string;
	status: string;
	lastEventId: string;
	errorCode: number | null;
	updatedAt: string;
}

/**
 * Per recipient, the highest rung its events reached (received; sending 1 · sent 2 · delivered,
 * failed 3 · read 4), the first event by sequence to reach it winning ties: a late `sending` after
 * `delivered` is stored but does not regress. Ordered by recipient; an event without a status (an
 * unknown type) counts for nothing.
 */
export function recipientStatuses(events: readonly MessageEventRow[]): RecipientStatus[] {
	const best = new Map<string, MessageEventRow>();
	const bySequence = [...events].sort((a, b) => a.sequence - b.sequence);
	for (const event of bySequence) {
		if (event.status === null || event.status_rank === null) continue;
		const current = best.get(event.recipient);
		if (current === undefined || event.status_rank > (current.status_rank ?? 0)) best.set(event.recipient, event);
	}
	return [...best.values()]
		.sort((a, b) => (a.recipient < b.recipient ? -1 : a.recipient > b.recipient ? 1 : 0))
		.map((event) => ({
			recipient: event.recipient,
			status: event.status as string,
			lastEventId: event.id,
			errorCode: event.error_code,
			updatedAt: event.received_at,
		}));
}
