import * as v from "valibot";
import type { ForwardConfig } from "../config";
import type { DeliveryOutcome } from "../db/deliveries.repository";
import { ForwardJobSchema } from "./forward-job";
import { type PostResult, postEvent } from "./post-event";
import { retryDelaySeconds } from "./retry-schedule";

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

const EventHeadSchema = v.object({
	type: v.string(),
	data: v.object({ direction: v.nullable(v.string()) }),
});

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
	const head = v.safeParse(EventHeadSchema, JSON.parse(eventJson));
	if (!head.success) return "the stored event is not a relay CloudEvent";
	const { type, data } = head.output;
	if (config.eventTypes.size > 0 && !config.eventTypes.has(type)) return `type ${type} is not in FORWARD_EVENT_TYPES`;
	// An unknown type may have no direction: it is forwarded unless a direction was ruled out.
	const { directions } = config;
	const restricted = directions.size > 0 && !(directions.has("inbound") && directions.has("outbound"));
	if (restricted && !directions.has(data.direction ?? "")) {
		return `direction ${data.direction} is not in FORWARD_DIRECTIONS`;
	}
	if (config.url === null) return "FORWARD_URL is not set";
	return null;
}

/**
 * Decides the fate of one queue message: delivered, skipped, retried on the schedule, or dead.
 * Throws only on unexpected errors, which the caller turns into a retry.
 */
export async function settleMessage(
	body: unknown,
	attempt: number,
	loadEvent: LoadEvent,
	configState: ConfigState,
	fallbackSchedule: readonly number[],
): Promise<Settlement> {
	const job = v.safeParse(ForwardJobSchema, body);
	if (!job.success)
		return settled("unknown", "dead", `malformed queue message: ${JSON.stringify(body)?.slice(0, 200)}`);
	const { eventId } = job.output;
	if (!configState.ok) {
		return retryOrDead(fallbackSchedule, eventId, attempt, `forwarding is misconfigured: ${configState.message}`);
	}
	const config = configState.value;
	const eventJson = job.output.event ?? (await loadEvent(eventId, job.output.messageId));
	if (eventJson === null) return settled(eventId, "dead", "the event is no longer stored (ledger nor D1)");

	const skip = skipReason(config, eventJson);
	if (skip !== null) return settled(eventId, "skipped", skip);
	if (config.signingSecrets.length === 0) {
		return retryOrDead(config.retryScheduleSeconds, eventId, attempt, "FORWARD_SIGNING_SECRET is not set");
	}
	const url = config.url as string;
	const post = await postEvent(
		{ url, signingSecrets: config.signingSecrets, timeoutMs: config.timeoutMs },
		eventId,
		eventJson,
	);
	switch (post.class) {
		case "delivered":
			return settled(eventId, "delivered", null, post);
		case "permanent":
			return settled(eventId, "dead", post.error, post);
		case "retryable":
			return retryOrDead(config.retryScheduleSeconds, eventId, attempt, post.error ?? "failed", post);
	}
}
