/*
 * When events were received, and where they were routed: what the admin API needs to find an
 * event's first tries (src/db/attempts.repository.ts) and to say where each of its deliveries
 * stands. Kept apart from the events listing so that a change of how events are stored changes
 * one small module.
 */

export interface EventReceipt {
	id: string;
	message_id: string;
	type: string;
	recipient: string;
	error_code: number | null;
	received_at: string;
	/** JSON array of destination names; NULL for an event from before routing ("default"). */
	destinations: string | null;
}

const COLUMNS = "id, message_id, type, recipient, error_code, received_at, destinations";

/** At most this many events of one message are looked at for their first tries. */
export const MESSAGE_RECEIPTS_MAX = 1000;

export async function receiptsOfEvents(db: D1Database, ids: readonly string[]): Promise<EventReceipt[]> {
	if (ids.length === 0) return [];
	const rows = await db
		.prepare(`SELECT ${COLUMNS} FROM events WHERE id IN (SELECT value FROM json_each(?1))`)
		.bind(JSON.stringify(ids))
		.all<EventReceipt>();
	return rows.results;
}

export async function receiptsOfMessage(db: D1Database, messageId: string): Promise<EventReceipt[]> {
	const rows = await db
		.prepare(`SELECT ${COLUMNS} FROM events WHERE message_id = ?1 ORDER BY sequence LIMIT ?2`)
		.bind(messageId, MESSAGE_RECEIPTS_MAX)
		.all<EventReceipt>();
	return rows.results;
}

/** The destinations an event's deliveries go to, as the deliveries rows name them. */
export function routesOf(receipt: Pick<EventReceipt, "destinations">): string[] {
	if (receipt.destinations === null) return ["default"];
	const names = JSON.parse(receipt.destinations) as string[];
	return names.length === 0 ? ["none"] : names;
}
