import { insertEvent } from "../db/events.repository";
import { upsertMessageStatus } from "../db/message-status.repository";
import type { LedgerStore } from "./ledger-store";
import { chunkForQueue } from "./queue-chunks";

const DRAIN_MAX_ROWS = 50;
/** Bounds one D1 batch and the memory of one pass, whatever the size of the texts. */
const DRAIN_MAX_CHARS = 4 * 1024 * 1024;

/**
 * Copies the outbox to D1 and the forward queue, oldest first, until it is empty. Both writes are
 * safe to repeat: D1 ignores a known id, and a re-sent job carries the same event id, which the
 * downstream de-duplicates on. Rows are marked drained only after their queue send succeeded.
 */
export async function drainOutbox(store: LedgerStore, env: Pick<Env, "DB" | "FORWARD_QUEUE">): Promise<number> {
	let drained = 0;
	for (;;) {
		const rows = store.pending(DRAIN_MAX_ROWS, DRAIN_MAX_CHARS);
		if (rows.length === 0) return drained;
		const statuses = store.statuses(new Set(rows.map((row) => row.recipient)));
		await env.DB.batch([
			...rows.map((row) => insertEvent(env.DB, row)),
			...statuses.map((status) => upsertMessageStatus(env.DB, status)),
		]);
		for (const chunk of chunkForQueue(rows)) {
			await env.FORWARD_QUEUE.sendBatch(chunk.messages);
			store.markDrained(chunk.sequences);
			drained += chunk.sequences.length;
		}
	}
}
