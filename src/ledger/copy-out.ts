import { type EventRow, insertEvent } from "../db/events.repository";
import { chunkForQueue } from "./queue-chunks";

/** Bounds one D1 batch, whatever the size of the texts. */
const D1_BATCH_MAX_ROWS = 100;
const D1_BATCH_MAX_CHARS = 4 * 1024 * 1024;

function d1Chunks(rows: readonly EventRow[]): EventRow[][] {
	const chunks: EventRow[][] = [];
	let current: EventRow[] = [];
	let chars = 0;
	for (const row of rows) {
		if (
			current.length > 0 &&
			(current.length === D1_BATCH_MAX_ROWS || chars + row.normalized_json.length > D1_BATCH_MAX_CHARS)
		) {
			chunks.push(current);
			current = [];
			chars = 0;
		}
		current.push(row);
		chars += row.normalized_json.length;
	}
	if (current.length > 0) chunks.push(current);
	return chunks;
}

/**
 * Copies outbox rows to D1, then to the forward queue, calling `queued` after each successful
 * send and starting no write after `deadline` (epoch ms). D1 goes first so that the consumer can
 * read back an event too large for a queue message. Both writes are safe to repeat: D1 ignores
 * a known id, and a re-sent job carries the same event id, which the downstream de-duplicates on.
 */
export async function copyOut(
	env: Pick<Env, "DB" | "FORWARD_QUEUE">,
	rows: readonly EventRow[],
	queued: (rows: EventRow[]) => void,
	deadline = Number.POSITIVE_INFINITY,
): Promise<void> {
	const checkDeadline = () => {
		if (Date.now() > deadline) throw new Error("the copy-out window has closed; the ledger will drain the rest");
	};
	for (const chunk of d1Chunks(rows)) {
		checkDeadline();
		await env.DB.batch(chunk.map((row) => insertEvent(env.DB, row)));
		for (const sendable of chunkForQueue(chunk)) {
			checkDeadline();
			await env.FORWARD_QUEUE.sendBatch(sendable.messages);
			queued(sendable.rows);
		}
	}
}
