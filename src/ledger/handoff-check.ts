import { eventTableOfPartition, isNoSuchEventTable } from "../db/event-tables";

/** A handed-off row: its ledger partition (whose day is its D1 table's) and its key. */
export type HandoffKey = { partition: string; messageId: string; id: string };

/** Keys per lookup statement: one JSON parameter, well inside D1's statement and parameter sizes. */
const KEYS_PER_STATEMENT = 500;

export const handoffKeyOf = (messageId: string, id: string): string => `${messageId}\n${id}`;

/**
 * Which of these rows D1 holds: a lookup by (message_id, id) in the day table of each row's
 * partition, the table the Worker wrote it to (src/db/events.repository.ts). A row read costs a
 * thousandth of a row written. A missing table holds none of them; any other failure is thrown,
 * and the caller keeps the rows to look again.
 */
export async function findInD1(db: D1Database, keys: readonly HandoffKey[]): Promise<Set<string>> {
	const found = new Set<string>();
	for (const [table, group] of Map.groupBy(keys, (key) => eventTableOfPartition(key.partition))) {
		for (let start = 0; start < group.length; start += KEYS_PER_STATEMENT) {
			const pairs = group.slice(start, start + KEYS_PER_STATEMENT).map((key) => [key.messageId, key.id]);
			try {
				const rows = await db
					.prepare(
						`SELECT e.message_id, e.id FROM json_each(?1) AS k CROSS JOIN ${table} AS e
						 ON e.message_id = json_extract(k.value, '$[0]') AND e.id = json_extract(k.value, '$[1]')`,
					)
					.bind(JSON.stringify(pairs))
					.all<{ message_id: string; id: string }>();
				for (const row of rows.results) found.add(handoffKeyOf(row.message_id, row.id));
			} catch (error) {
				if (!isNoSuchEventTable(error)) throw error;
				break;
			}
		}
	}
	return found;
}
