import * as v from "valibot";
import type { ForwardConfig } from "../config";
import type { DeliveryOutcome } from "../db/delivery-outcomes";
import { MAX_ROW_BYTES } from "../db/row-size";
import { readEventHead } from "./event-head";
import { type ForwardJob, ForwardJobSchema } from "./forward-job";
import type { Limit, Permit } from "./limit";
import { type PostResult, postEvent } from "./post-event";
import { retryDelaySeconds } from "./retry-schedule";
import { webhookRequest } from "./webhook-request";

export type Settlement = {
	eventId: string;
	outcome: DeliveryOutcome;
	/** Ack, or retry after this many seconds. */
	retryInSeconds: number | null;
	httpStatus: number | null;
	error: string | null;
	durationMs: number | null;
};

type ConfigState = { ok: true; value: ForwardConfig } | { ok: false; message: string };

/** Finds the CloudEvent of a job that does not carry it (src/forward/load-event.ts). */
export type LoadEvent = (eventId: string, messageId: string | undefined) => Promise<string | null>;

/** Where settling finds a body, and what bounds the bodies held at once (src/forward/forward-batch.ts). */
export interface Forwarding {
	loadEvent: LoadEvent;
	/** UTF-8 bytes of the event bodies this invocation's attempts hold. */
	bodyBytes: Limit;
	/** The body as it is signed: an inbound MMS gains `data.mediaCopies` (src/media/with-media-copies.ts). */
	withMedia: (eventJson: string) => Promise<string>;
}

function settled(eventId: string, outcome: DeliveryOutcome, error: string | null, post?: PostResult): Settlement {
	return {
		eventId,
		outcome,
		retryInSeconds: null,
		httpStatus: post?.httpStatus ?? null,
		error,
		durationMs: post?.durationMs ?? null,
	};
}

/** A failure worth another try: retried on the schedule, dead once the schedule is spent. */
export function retryOrDead(
	schedule: readonly number[],
	eventId: string,
	attempt: number,
	error: string,
	post?: PostResult,
): Settlement {
	const delay = retryDelaySeconds(schedule, eventId, attempt, post?.retryAfterSeconds ?? null);
	if (delay === null) return settled(eventId, "dead", `gave up after ${attempt} attempts; last: ${error}`, post);
	return { ...settled(eventId, "failed", error, post), retryInSeconds: delay };
}

/** Why this event is not forwarded at all, or null if it should be. */
function skipReason(config: ForwardConfig, eventJson: string): string | null {
	const head = readEventHead(eventJson);
	if (head === null) return "the stored event is not a relay CloudEvent";
	const { type, direction } = head;
	if (config.eventTypes.size > 0 && !config.eventTypes.has(type)) return `type ${type} is not in FORWARD_EVENT_TYPES`;
	// An unknown type may have no direction: it is forwarded unless a direction was ruled out.
	const { directions } = config;
	const restricted = directions.size > 0 && !(directions.has("inbound") && directions.has("outbound"));
	if (restricted && !directions.has(direction ?? "")) {
		return `direction ${direction} is not in FORWARD_DIRECTIONS`;
	}
	if (config.url === null) return "FORWARD_URL is not set";
	return null;
}

/**
 * The most a job's body can take before it is in hand: an event read back is at most a stored row,
 * and UTF-8 needs at most 3 bytes per UTF-16 unit of one carried inline.
 */
function bodyBytesBound(job: ForwardJob): number {
	return job.event === undefined ? MAX_ROW_BYTES : 3 * job.event.length;
}

/** Loads, filters, signs and posts one event while `held` counts its body. */
async function deliver(
	job: ForwardJob,
	attempt: number,
	config: ForwardConfig,
	{ loadEvent, withMedia }: Forwarding,
	held: Permit,
): Promise<Settlement> {
	const { eventId } = job;
	const eventJson = job.event ?? (await loadEvent(eventId, job.messageId));
	if (eventJson === null) return settled(eventId, "dead", "the event is no longer stored (ledger nor D1)");

	const skip = skipReason(config, eventJson);
	if (skip !== null) return settled(eventId, "skipped", skip);
	if (config.signingSecrets.length === 0) {
		return retryOrDead(config.retryScheduleSeconds, eventId, attempt, "FORWARD_SIGNING_SECRET is not set");
	}
	// After the filters: an event not forwarded never waits for its media.
	const request = await webhookRequest(config.signingSecrets, eventId, await withMedia(eventJson));
	held.resize(request.body.byteLength);
	const post = await postEvent({ url: config.url as string, timeoutMs: config.timeoutMs }, request);
	switch (post.class) {
		case "delivered":
			return settled(eventId, "delivered", null, post);
		case "permanent":
			return settled(eventId, "dead", post.error, post);
		case "retryable":
			return retryOrDead(config.retryScheduleSeconds, eventId, attempt, post.error ?? "failed", post);
	}
}

/**
 * Decides the fate of one queue message: delivered, skipped, retried on the schedule, or dead.
 * Throws only on unexpected errors, which the caller turns into a retry.
 */
export async function settleMessage(
	body: unknown,
	attempt: number,
	forwarding: Forwarding,
	configState: ConfigState,
	fallbackSchedule: readonly number[],
): Promise<Settlement> {
	const job = v.safeParse(ForwardJobSchema, body);
	if (!job.success)
		return settled("unknown", "dead", `malformed queue message: ${JSON.stringify(body)?.slice(0, 200)}`);
	if (!configState.ok) {
		const { eventId } = job.output;
		return retryOrDead(fallbackSchedule, eventId, attempt, `forwarding is misconfigured: ${configState.message}`);
	}
	// Counted from before the body is in memory until its POST has ended: at its bound while it
	// loads, then at its real size.
	return forwarding.bodyBytes.run(bodyBytesBound(job.output), (held) =>
		deliver(job.output, attempt, configState.value, forwarding, held),
	);
}
