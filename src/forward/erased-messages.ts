import { errorMessage, log } from "../log";
import { readReceivedAt } from "./event-head";
import { type ForwardJob, messageIdOfJob } from "./forward-job";

/** When each of a batch's messages was erased, for those that were (migrations/0009's tombstones). */
export type Erasures = ReadonlyMap<string, string>;

/**
 * The tombstones of a batch's messages, read once per batch: a job queued, retried or parked
 * before its message was erased still carries the event, and must not deliver it afterwards. One
 * read of the primary key per message (rows read, $0.001 per million; no row written). When D1
 * cannot answer, the batch is delivered as before and the miss is logged: holding every forward
 * for an outage of the database would trade the common path for the rare erasure.
 */
export async function readErasures(db: D1Database, jobs: readonly ForwardJob[]): Promise<Erasures> {
	const messageIds = [...new Set(jobs.flatMap((job) => messageIdOfJob(job) ?? []))];
	if (messageIds.length === 0) return new Map();
	try {
		const { results } = await db
			.prepare(
				"SELECT message_id, erased_at FROM erased_messages WHERE message_id IN (SELECT value FROM json_each(?1))",
			)
			.bind(JSON.stringify(messageIds))
			.all<{ message_id: string; erased_at: string }>();
		return new Map(results.map((row) => [row.message_id, row.erased_at]));
	} catch (error) {
		log.warn("erasure_check_failed", { jobs: jobs.length, error: errorMessage(error) });
		return new Map();
	}
}

/**
 * True when the event was erased: its message has a tombstone from when or after it was received
 * (an event of the message received after its erasure is a new one, as D1 stores it), or its body
 * is gone from every store and its message has a tombstone.
 */
export function wasErased(erasures: Erasures, messageId: string | null, eventJson: string | null): boolean {
	const erasedAt = messageId === null ? undefined : erasures.get(messageId);
	if (erasedAt === undefined) return false;
	const receivedAt = eventJson === null ? null : readReceivedAt(eventJson);
	return receivedAt === null || receivedAt <= erasedAt;
}
