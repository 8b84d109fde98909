import { forgetEventTable, LEGACY_EVENTS_TABLE } from "./event-tables";

/*
 * Taking events out of D1: retention drops a whole table (DROP TABLE writes no row); the byte
 * budget drops the oldest table whole too once its quarter has ended (src/maintenance/enforce-budget.ts), and otherwise
 * deletes from it a chunk at a time (one row written per event, the table having no index) and
 * drops it once empty. The legacy table is emptied as before, on its own indexes,
 * and dropped once empty. An event's deliveries rows go with it.
 */

/** The statements that remove one chunk of events; run them in one batch, in this order. */
export interface EventChunkDelete {
	/** The chunk's deliveries rows (only retries, dead and replayed events have any). */
	deliveries: D1PreparedStatement;
	events: D1PreparedStatement;
	/** One row, `{held: 0|1}`: whether the table still holds any event after the chunk. */
	held: D1PreparedStatement;
	/**
	 * One row, `{kept: 0|1}`: whether what the table still holds is only events the budget keeps
	 * (dead ones): the eviction then moves on to the next day instead of stopping.
	 */
	kept?: D1PreparedStatement;
}

/**
 * A dead event stays in D1 until it is replayed or its day reaches RETENTION_DAYS: the dead list
 * and replay read it from D1, and the byte budget must not make a dead delivery vanish unseen
 * (which it did under a tight budget, found by the fault simulation). Few events are dead.
 */
const NOT_DEAD = (alias: string) =>
	`NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = ${alias}.id AND outcome = 'dead')`;

/**
 * The oldest events of the legacy table by (event_time, id), walked on its events_time index. With
 * `before`, only events whose own time and receipt are both earlier: the receipt is what retention
 * and the archive promise by, and the bound on event_time keeps the walk a range that ends there
 * instead of reading every later row when fewer than `limit` qualify.
 *
 * Both statements select the same chunk: a batch is one transaction and the deliveries delete
 * does not change `events`.
 */
export function deleteOldestLegacyEvents(db: D1Database, before: string | undefined, limit: number): EventChunkDelete {
	const chunk =
		before === undefined
			? "SELECT id FROM events ORDER BY event_time, id LIMIT ?1"
			: "SELECT id FROM events WHERE event_time < ?2 AND received_at < ?2 ORDER BY event_time, id LIMIT ?1";
	const bind = (statement: D1PreparedStatement) =>
		before === undefined ? statement.bind(limit) : statement.bind(limit, before);
	return {
		deliveries: bind(db.prepare(`DELETE FROM deliveries WHERE event_id IN (${chunk})`)),
		events: bind(db.prepare(`DELETE FROM events WHERE id IN (${chunk})`)),
		held: heldIn(db, LEGACY_EVENTS_TABLE),
	};
}

/**
 * A chunk of an event table in key order (its events in any order: the table is their quarter), only
 * events received before `before` when it is given: the archive and the ledgers' checks of their
 * handoffs promise by receipt (src/maintenance/archive-horizon.ts).
 */
export function deleteDayTableChunk(
	db: D1Database,
	table: string,
	before: string | undefined,
	limit: number,
): EventChunkDelete {
	const bound = before === undefined ? "" : "AND received_at < ?2";
	const chunk = `SELECT message_id, id FROM ${table} AS e WHERE ${NOT_DEAD("e")} ${bound} ORDER BY message_id, id LIMIT ?1`;
	const bind = (statement: D1PreparedStatement) =>
		before === undefined ? statement.bind(limit) : statement.bind(limit, before);
	return {
		deliveries: bind(db.prepare(`DELETE FROM deliveries WHERE event_id IN (SELECT id FROM (${chunk}))`)),
		events: bind(db.prepare(`DELETE FROM ${table} WHERE (message_id, id) IN (${chunk})`)),
		held: heldIn(db, table),
		kept: db.prepare(`SELECT NOT EXISTS (SELECT 1 FROM ${table} AS e WHERE ${NOT_DEAD("e")}) AS kept`),
	};
}

function heldIn(db: D1Database, table: string): D1PreparedStatement {
	return db.prepare(`SELECT EXISTS (SELECT 1 FROM ${table}) AS held`);
}

/**
 * One row, `{dead: 0|1}`: whether an event table holds a dead event, which the byte budget keeps (as
 * NOT_DEAD: any `dead` row). Walked from the dead deliveries rows (deliveries_outcome), each looked
 * up by the table's key: a read per dead row, not a scan of the day. A row without its message id
 * (a malformed job's) is looked for by id alone.
 */
export function holdsDeadEvent(db: D1Database, table: string): D1PreparedStatement {
	return db.prepare(
		`SELECT EXISTS (SELECT 1 FROM deliveries AS d WHERE d.outcome = 'dead' AND (
		   EXISTS (SELECT 1 FROM ${table} AS e WHERE e.message_id = d.message_id AND e.id = d.event_id)
		   OR (d.message_id IS NULL AND EXISTS (SELECT 1 FROM ${table} AS e WHERE e.id = d.event_id)))) AS dead`,
	);
}

/**
 * Up to `limit` deliveries rows of an event table's events: a table is dropped only once they are
 * gone, a chunk at a time (a day of failures can leave many), so none outlives its event.
 */
export function deleteDeliveriesOfTable(db: D1Database, table: string, limit: number): D1PreparedStatement {
	return db
		.prepare(
			`DELETE FROM deliveries WHERE id IN (
			   SELECT d.id FROM ${table} AS e JOIN deliveries AS d ON d.event_id = e.id LIMIT ?1)`,
		)
		.bind(limit);
}

/**
 * Counts a table's events and drops it: the count for the report, the drop writes no row (D1
 * reports `rows_written: 0` for a DROP TABLE of any size, measured in test/maintenance).
 */
export function dropEventTable(db: D1Database, table: string): [count: D1PreparedStatement, drop: D1PreparedStatement] {
	forgetEventTable(table);
	return [db.prepare(`SELECT count(*) AS n FROM ${table}`), db.prepare(`DROP TABLE ${table}`)];
}
