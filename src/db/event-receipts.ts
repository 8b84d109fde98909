import { unionsOf, withEventTables } from "./event-tables";
import { messageIdsOf } from "./replay-rows.repository";

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

/**
 * These events' receipts (those D1 holds). D1 finds an event by its message and id
 * (src/db/event-tables.ts): the messages are those the caller names and those the events'
 * deliveries rows name (an event that ever failed, died or was replayed has one), looked up on
 * each table's key. Only when the caller names no message is an id that no deliveries row names
 * (an event delivered at its first try) looked for by a scan of every event table: D1's whole event
 * count in rows read, once per call.
 */
export async function receiptsOfEvents(
	db: D1Database,
	ids: readonly string[],
	messageIds: readonly string[] = [],
): Promise<EventReceipt[]> {
	if (ids.length === 0) return [];
	const named = await messageIdsOf(db, ids);
	const messages = [...new Set([...messageIds, ...named.values()])];
	const unknown = messageIds.length > 0 ? [] : ids.filter((id) => !named.has(id));
	const rows = await withEventTables(db, async (tables) => {
		const byKey = unionsOf(
			messages.length === 0 ? [] : tables,
			(table) =>
				`SELECT ${COLUMNS} FROM ${table}
				 WHERE message_id IN (SELECT value FROM json_each(?1)) AND id IN (SELECT value FROM json_each(?2))`,
		).map((union) => db.prepare(union).bind(JSON.stringify(messages), JSON.stringify(ids)));
		const scanned = unionsOf(
			unknown.length === 0 ? [] : tables,
			(table) => `SELECT ${COLUMNS} FROM ${table} WHERE id IN (SELECT value FROM json_each(?1))`,
		).map((union) => db.prepare(union).bind(JSON.stringify(unknown)));
		const statements = [...byKey, ...scanned];
		return statements.length === 0 ? [] : (await db.batch<EventReceipt>(statements)).flatMap((r) => r.results);
	});
	// An event stored in two tables (a copy that straddled migration 0006) is answered once.
	return [...new Map(rows.map((row) => [row.id, row] as const)).values()];
}

/** The destinations an event's deliveries go to, as the deliveries rows name them. */
export function routesOf(receipt: Pick<EventReceipt, "destinations">): string[] {
	if (receipt.destinations === null) return ["default"];
	const names = JSON.parse(receipt.destinations) as string[];
	return names.length === 0 ? ["none"] : names;
}
