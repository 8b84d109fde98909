import { dayTableOf, eventTableOf, isNoSuchEventTable } from "../db/event-tables";
import type { Hour } from "./partitions";

/** A handed-off row: its ledger partition, the hour it is filed under (whose quarter is its D1 table's) and its key. */
export type HandoffKey = { partition: string; hour: Hour; messageId: string; id: string };

/** Keys per lookup statement: one JSON parameter, well inside D1's statement and parameter sizes. */
const KEYS_PER_STATEMENT = 500;

export const handoffKeyOf = (messageId: string, id: string): string => `${messageId}\n${id}`;

type Pair = [messageId: string, id: string];

/** Which of these keys one table holds; none when it does not exist. Any other failure is thrown. */
async function foundIn(db: D1Database, table: string, pairs: readonly Pair[]): Promise<Set<string>> {
	const found = new Set<string>();
	for (let start = 0; start < pairs.length; start += KEYS_PER_STATEMENT) {
		try {
			const rows = await db
				.prepare(
					`SELECT e.message_id, e.id FROM json_each(?1) AS k CROSS JOIN ${table} AS e
					 ON e.message_id = json_extract(k.value, '$[0]') AND e.id = json_extract(k.value, '$[1]')`,
				)
				.bind(JSON.stringify(pairs.slice(start, start + KEYS_PER_STATEMENT)))
				.all<{ message_id: string; id: string }>();
			for (const row of rows.results) found.add(handoffKeyOf(row.message_id, row.id));
		} catch (error) {
			if (!isNoSuchEventTable(error)) throw error;
			break;
		}
	}
	return found;
}

/**
 * Which of these rows D1 holds: a lookup by (message_id, id) in the table of each row's hour, the
 * table the Worker wrote it to (src/db/events.repository.ts). A row read costs a thousandth of a
 * row written. The few not found there are looked for in their day's table too, where a Worker
 * deployed before quarter tables wrote them (src/db/event-tables.ts): a handoff made just before an
 * upgrade must not be taken for lost and forwarded again. A missing table holds none of them; any
 * other failure is thrown, and the caller keeps the rows to look again.
 */
export async function findInD1(db: D1Database, keys: readonly HandoffKey[]): Promise<Set<string>> {
	const found = new Set<string>();
	for (const [table, group] of Map.groupBy(keys, (key) => eventTableOf(key.hour))) {
		const pairs = group.map((key): Pair => [key.messageId, key.id]);
		for (const key of await foundIn(db, table, pairs)) found.add(key);
		const missed = pairs.filter(([messageId, id]) => !found.has(handoffKeyOf(messageId, id)));
		if (missed.length > 0) for (const key of await foundIn(db, dayTableOf(table), missed)) found.add(key);
	}
	return found;
}
