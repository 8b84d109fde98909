import { type DeliveryPageRow, type DeliveryRow, withinBytes } from "./deliveries.repository";
import { withEventTables } from "./event-tables";
import { claimExpiry, eventHeld } from "./replay-claims.repository";

/**
 * The dead rows of the deliveries that are dead now — what `{"dead": true}` would replay and what
 * the stats' `dead` counts — in the order they died, after `afterId`: a dead row is listed while it
 * is its delivery's latest outcome (a replay's later outcome takes it out) and no replay's claim
 * after it is still in force. Its event must still be in D1, as the count has it (a lookup on
 * each event table's key by the row's message id). Served by deliveries_outcome, then each row's
 * delivery on deliveries_event.
 */
export async function listDeadNow(
	db: D1Database,
	filter: { destination?: string | undefined; afterId: number },
	limit: number,
	maxBytes: number,
	now = new Date(),
): Promise<DeliveryPageRow[]> {
	const rows = (tables: readonly string[]) => `SELECT d.* FROM deliveries d
	  WHERE d.outcome = 'dead' AND d.id > ?1 AND (?2 IS NULL OR d.destination = ?2)
	    AND d.id = (SELECT max(id) FROM deliveries p
	                WHERE p.event_id = d.event_id AND p.destination = d.destination AND p.outcome <> 'replayed')
	    AND NOT EXISTS (SELECT 1 FROM deliveries c
	                    WHERE c.event_id = d.event_id AND c.destination = d.destination AND c.id > d.id
	                      AND c.outcome = 'replayed' AND coalesce(c.next_at, c.at) >= ?3)
	    AND ${eventHeld(tables)}
	  ORDER BY d.id LIMIT ?4`;
	const params = [filter.afterId, filter.destination ?? null, claimExpiry(now), limit];
	const page = await withEventTables(db, (tables) =>
		withinBytes(db, rows(tables), params, maxBytes).all<DeliveryPageRow>(),
	);
	return page.results;
}

/** Every deliveries row of these events, in the order written (at most `limit`). */
export async function rowsOfEvents(db: D1Database, ids: readonly string[], limit = 10_000): Promise<DeliveryRow[]> {
	if (ids.length === 0) return [];
	const rows = await db
		.prepare("SELECT * FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?1)) ORDER BY id LIMIT ?2")
		.bind(JSON.stringify(ids), limit)
		.all<DeliveryRow>();
	return rows.results;
}
