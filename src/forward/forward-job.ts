import * as v from "valibot";

/**
 * A queue message: the event id and, when it fits in a queue message, the normalized event exactly
 * as stored. Without `event` the consumer reads the stored copy from D1.
 */
export const ForwardJobSchema = v.object({
	eventId: v.pipe(v.string(), v.startsWith("evt_")),
	event: v.optional(v.string()),
});
export type ForwardJob = v.InferOutput<typeof ForwardJobSchema>;
