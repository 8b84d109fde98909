import * as v from "valibot";
import { readEventSubject } from "./event-head";

/**
 * A queue message: the event id and, when it fits in a queue message, the normalized event exactly
 * as stored. Without `event` the consumer reads it from the ledger of `messageId`, and only if the
 * ledger has forgotten it (a replay of an old event) from D1.
 */
export const ForwardJobSchema = v.object({
	eventId: v.pipe(v.string(), v.startsWith("evt_")),
	event: v.optional(v.string()),
	messageId: v.optional(v.string()),
	/** Put back by `POST /v1/replay`: its outcome is recorded even when it is a first-try success. */
	replay: v.optional(v.boolean()),
	/**
	 * The destination this job delivers to; null: the event matched none (counted as skipped).
	 * Absent on jobs queued before there were several: the consumer routes them as it reads them.
	 */
	destination: v.optional(v.nullable(v.string())),
	/** Failed attempts of this delivery before the job was held back and queued again. */
	priorAttempts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
	/**
	 * The `replayed` deliveries row that claims this replay (src/forward/replay.ts): renewed while a
	 * gate holds the job, so the claim does not expire and let a second replay send it again.
	 */
	claimId: v.optional(v.pipe(v.number(), v.integer())),
	/** How many times a pause has held it back: each hold waits longer (src/destinations/gate-policy.ts). */
	holds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
});
export type ForwardJob = v.InferOutput<typeof ForwardJobSchema>;

/**
 * The message a job's event belongs to: named by a job that carries no body, else the subject of
 * the body it carries; null for neither (a job queued before either was there).
 */
export function messageIdOfJob(job: ForwardJob): string | null {
	if (job.messageId !== undefined) return job.messageId;
	return job.event === undefined ? null : readEventSubject(job.event);
}
