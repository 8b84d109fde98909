import { encodeEvent } from "../db/event-body";
import { type EventRow, insertEvents } from "../db/events.repository";
import { errorMessage } from "../log";
import { chunkForQueue, type QueueableRow } from "./queue-chunks";

/** Bounds one D1 batch, whatever the size of the texts. */
const D1_BATCH_MAX_ROWS = 100;
const D1_BATCH_MAX_CHARS = 4 * 1024 * 1024;

export interface CopyResult {
	/** Ids that reached the target. */
	done: Set<string>;
	/** Why it stopped early; null when everything went. */
	error: string | null;
}

function d1Chunks<TRow extends EventRow>(rows: readonly TRow[]): TRow[][] {
	const chunks: TRow[][] = [];
	let current: TRow[] = [];
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

const CLOSED = "the copy-out window has closed; the ledger copies the rest";

/**
 * Sends rows to the forward queue in as few sendBatch calls as fit, stopping at the first failure
 * and starting no send after `deadline` (epoch ms). A re-sent job carries the same event id, which
 * the downstream de-duplicates on.
 */
export async function sendToQueue(
	queue: Queue,
	rows: readonly QueueableRow[],
	deadline = Number.POSITIVE_INFINITY,
): Promise<CopyResult> {
	const done = new Set<string>();
	try {
		for (const chunk of chunkForQueue(rows)) {
			if (Date.now() > deadline) return { done, error: CLOSED };
			await queue.sendBatch(chunk.messages);
			for (const row of chunk.rows) done.add(row.id);
		}
		return { done, error: null };
	} catch (error) {
		return { done, error: errorMessage(error) };
	}
}

/**
 * Inserts rows into D1, each into the day table of the hour its ledger filed it under (a row read
 * from elsewhere, by its receipt); idempotent on the event's key. Never needed for a forward.
 */
export async function storeInD1(
	db: D1Database,
	rows: ReadonlyArray<EventRow & { hour?: string }>,
	deadline = Number.POSITIVE_INFINITY,
): Promise<CopyResult> {
	const done = new Set<string>();
	try {
		for (const chunk of d1Chunks(rows)) {
			if (Date.now() > deadline) return { done, error: CLOSED };
			const bodies = await Promise.all(chunk.map((row) => encodeEvent(row.normalized_json)));
			await insertEvents(db, chunk, bodies);
			for (const row of chunk) done.add(row.id);
		}
		return { done, error: null };
	} catch (error) {
		return { done, error: errorMessage(error) };
	}
}
