import type { EventRow } from "../db/events.repository";
import type { ForwardJob } from "../forward/forward-job";

/*
 * Cloudflare Queues: one message ≤ 128 KB, one sendBatch ≤ 100 messages and ≤ 256 KB (DESIGN §7).
 * Events small enough travel inside the job; a larger one travels as its id and message id, and
 * the consumer reads it back from the message's ledger — never from D1, so a D1 outage cannot hold
 * back a large inbound text either.
 */
export const INLINE_EVENT_MAX_BYTES = 96 * 1024;
export const BATCH_MAX_MESSAGES = 100;
export const BATCH_MAX_BYTES = 240 * 1024;
export const MESSAGE_OVERHEAD_BYTES = 128;
const DESTINATION_KEY_BYTES = ',"destination":""'.length;

const encoder = new TextEncoder();

export type QueueableRow = Pick<EventRow, "id" | "message_id" | "normalized_json" | "destinations">;

export interface QueueChunk<TRow> {
	rows: TRow[];
	messages: MessageSendRequest<ForwardJob>[];
}

/**
 * The jobs of one row: one per destination it was routed to, or one without a destination for a
 * row from before routing (the consumer routes it), or one `destination: null` job for an event
 * that matches none, which the consumer counts as skipped. Their sizes are measured as Queues
 * counts them: the job serialized, in which the event, itself JSON, is escaped again — a
 * quote-heavy text can nearly double. A row's jobs go in one sendBatch, so a row is sent whole or
 * not at all: its body rides inline only while all its copies fit in one.
 */
export function jobsFor(row: QueueableRow): { jobs: ForwardJob[]; bytes: number } {
	const targets: Array<string | null | undefined> =
		row.destinations == null ? [undefined] : row.destinations.length === 0 ? [null] : row.destinations;
	const withTarget = (job: ForwardJob, destination: string | null | undefined): ForwardJob =>
		destination === undefined ? job : { ...job, destination };
	if (targets[0] !== null) {
		// Encoded once: a destination adds `,"destination":"<name>"` (names are ASCII) to the job.
		const base = encoder.encode(JSON.stringify({ eventId: row.id, event: row.normalized_json })).byteLength;
		const sizes = targets.map((target) => base + (target == null ? 0 : DESTINATION_KEY_BYTES + target.length));
		const bytes = sizes.reduce((sum, size) => sum + size + MESSAGE_OVERHEAD_BYTES, 0);
		if (Math.max(...sizes) <= INLINE_EVENT_MAX_BYTES && bytes <= BATCH_MAX_BYTES) {
			const jobs = targets.map((target) => withTarget({ eventId: row.id, event: row.normalized_json }, target));
			return { jobs, bytes };
		}
	}
	const jobs = targets.map((target) =>
		withTarget(target === null ? { eventId: row.id } : { eventId: row.id, messageId: row.message_id }, target),
	);
	return { jobs, bytes: jobs.length * MESSAGE_OVERHEAD_BYTES };
}

export function chunkForQueue<TRow extends QueueableRow>(rows: readonly TRow[]): QueueChunk<TRow>[] {
	const chunks: QueueChunk<TRow>[] = [];
	let current: QueueChunk<TRow> = { rows: [], messages: [] };
	let currentBytes = 0;
	for (const row of rows) {
		const { jobs, bytes } = jobsFor(row);
		const full = current.messages.length + jobs.length > BATCH_MAX_MESSAGES || currentBytes + bytes > BATCH_MAX_BYTES;
		if (full && current.messages.length > 0) {
			chunks.push(current);
			current = { rows: [], messages: [] };
			currentBytes = 0;
		}
		current.rows.push(row);
		for (const job of jobs) current.messages.push({ body: job, contentType: "json" });
		currentBytes += bytes;
	}
	if (current.messages.length > 0) chunks.push(current);
	return chunks;
}
