import type { EventRow } from "../db/events.repository";
import type { ForwardJob } from "../forward/forward-job";

/*
 * Cloudflare Queues: one message ≤ 128 KB, one sendBatch ≤ 100 messages and ≤ 256 KB (DESIGN §7).
 * Events small enough travel inside the job; a larger one travels as its id and message id, and
 * the consumer reads it back from the message's ledger — never from D1, so a D1 outage cannot hold
 * back a large inbound text either.
 */
export const INLINE_EVENT_MAX_BYTES = 96 * 1024;
const BATCH_MAX_MESSAGES = 100;
const BATCH_MAX_BYTES = 240 * 1024;
const MESSAGE_OVERHEAD_BYTES = 128;

const encoder = new TextEncoder();

export type QueueableRow = Pick<EventRow, "id" | "message_id" | "normalized_json">;

export interface QueueChunk<TRow> {
	rows: TRow[];
	messages: MessageSendRequest<ForwardJob>[];
}

/**
 * Measured as Queues counts it: the job serialized, in which the event, itself JSON, is escaped
 * again — a quote-heavy text can nearly double.
 */
function jobFor(row: QueueableRow): { job: ForwardJob; bytes: number } {
	const inline: ForwardJob = { eventId: row.id, event: row.normalized_json };
	const bytes = encoder.encode(JSON.stringify(inline)).byteLength;
	if (bytes <= INLINE_EVENT_MAX_BYTES) return { job: inline, bytes: bytes + MESSAGE_OVERHEAD_BYTES };
	return { job: { eventId: row.id, messageId: row.message_id }, bytes: MESSAGE_OVERHEAD_BYTES };
}

export function chunkForQueue<TRow extends QueueableRow>(rows: readonly TRow[]): QueueChunk<TRow>[] {
	const chunks: QueueChunk<TRow>[] = [];
	let current: QueueChunk<TRow> = { rows: [], messages: [] };
	let currentBytes = 0;
	for (const row of rows) {
		const { job, bytes } = jobFor(row);
		const full = current.messages.length === BATCH_MAX_MESSAGES || currentBytes + bytes > BATCH_MAX_BYTES;
		if (full && current.messages.length > 0) {
			chunks.push(current);
			current = { rows: [], messages: [] };
			currentBytes = 0;
		}
		current.rows.push(row);
		current.messages.push({ body: job, contentType: "json" });
		currentBytes += bytes;
	}
	if (current.messages.length > 0) chunks.push(current);
	return chunks;
}
