import type { DeliveryOutcome } from "../db/delivery-outcomes";
import { MAX_ROW_BYTES } from "../db/row-size";
import { DEFAULT_DESTINATION, type Destination, type Destinations } from "../destinations/read-destinations";
import { routeEvent } from "../destinations/route-event";
import type { ConfigResult } from "../env-vars";
import { jobsFor } from "../ledger/queue-chunks";
import { type Erasures, wasErased } from "./erased-messages";
import { readEventHead, readReceivedAt } from "./event-head";
import { type ForwardJob, messageIdOfJob } from "./forward-job";
import type { Limit, Permit } from "./limit";
import { type PostResult, postEvent } from "./post-event";
import { retryDelaySeconds } from "./retry-schedule";
import { webhookRequest } from "./webhook-request";

export type Settlement = {
	eventId: string;
	destination: string;
	outcome: DeliveryOutcome;
	/** Ack, or retry after this many seconds. */
	retryInSeconds: number | null;
	httpStatus: number | null;
	error: string | null;
	durationMs: number | null;
	/** A job queued before routing, put back as one job per destination it goes to (then acked). */
	rerouted?: ForwardJob[];
	/** The event's data.receivedAt, when its body was in hand: a first try is filed under it. */
	receivedAt?: string;
	/** Its message was erased after it was received: acked, neither sent nor recorded. */
	erased?: true;
};

/** Finds the CloudEvent of a job that does not carry it (src/forward/load-event.ts). */
export type LoadEvent = (eventId: string, messageId: string | undefined) => Promise<string | null>;

/** Where settling finds a body, and what bounds the bodies held at once (src/forward/forward-batch.ts). */
export interface Forwarding {
	loadEvent: LoadEvent;
	/** UTF-8 bytes of the event bodies this invocation's attempts hold. */
	bodyBytes: Limit;
	/** The body as it is signed: an inbound MMS gains `data.mediaCopies` (src/media/with-media-copies.ts). */
	withMedia: (eventJson: string) => Promise<string>;
	/** The batch's erased messages (src/forward/erased-messages.ts). */
	erasures: Erasures;
}

function settled(
	eventId: string,
	destination: string,
	outcome: DeliveryOutcome,
	error: string | null,
	post?: PostResult,
): Settlement {
	return {
		eventId,
		destination,
		outcome,
		retryInSeconds: null,
		httpStatus: post?.httpStatus ?? null,
		error,
		durationMs: post?.durationMs ?? null,
	};
}

/** An event whose message was erased after it was received: acked, neither sent nor recorded. */
function erasedEvent(eventId: string, destination: string): Settlement {
	return { ...settled(eventId, destination, "skipped", "its message was erased"), erased: true };
}

/** A failure worth another try: retried on the schedule, dead once the schedule is spent. */
export function retryOrDead(
	schedule: readonly number[],
	target: { eventId: string; destination: string },
	attempt: number,
	error: string,
	post?: PostResult,
): Settlement {
	const { eventId, destination } = target;
	const delay = retryDelaySeconds(schedule, eventId, attempt, post?.retryAfterSeconds ?? null);
	if (delay === null) {
		return settled(eventId, destination, "dead", `gave up after ${attempt} attempts; last: ${error}`, post);
	}
	return { ...settled(eventId, destination, "failed", error, post), retryInSeconds: delay };
}

/** Why the default destination (FORWARD_* alone) does not take an event, or null if it does. */
function legacySkipReason(destination: Destination | undefined, eventJson: string): string | null {
	const head = readEventHead(eventJson);
	if (head === null) return "the stored event is not a relay CloudEvent";
	if (destination === undefined) return "FORWARD_URL is not set";
	const { type, direction } = head;
	if (destination.types !== null && !destination.types.has(type)) return `type ${type} is not in FORWARD_EVENT_TYPES`;
	// An unknown type may have no direction: it is forwarded unless a direction was ruled out.
	if (destination.directions !== null && !destination.directions.has(direction ?? "")) {
		return `direction ${direction} is not in FORWARD_DIRECTIONS`;
	}
	return null;
}

type Target = { destination: Destination } | { skip: string } | { rerouted: ForwardJob[]; routes: string[] };

/**
 * Where a job queued before routing goes, decided now: to FORWARD_URL as before when that is the
 * only destination, else as routing would have sent it when it was accepted.
 */
function legacyTarget(destinations: Destinations, job: ForwardJob, eventJson: string): Target {
	const fallback = destinations.byName.get(DEFAULT_DESTINATION);
	if (destinations.list.length <= 1 && (destinations.list.length === 0 || fallback !== undefined)) {
		const skip = legacySkipReason(fallback, eventJson);
		return skip === null && fallback !== undefined ? { destination: fallback } : { skip: skip ?? "no destination" };
	}
	if (readEventHead(eventJson) === null) return { skip: "the stored event is not a relay CloudEvent" };
	const event = JSON.parse(eventJson) as {
		type: string;
		data: { direction: string | null; owner: string | null; applicationId: string | null; messageId: string };
	};
	const routes = routeEvent(destinations.list, {
		type: event.type,
		direction: event.data.direction,
		owner: event.data.owner,
		application_id: event.data.applicationId,
	});
	const only = routes.length === 1 ? destinations.byName.get(routes[0] as string) : undefined;
	if (only !== undefined) return { destination: only };
	if (routes.length === 0) return { skip: "it matches no destination" };
	const row = { id: job.eventId, message_id: event.data.messageId, normalized_json: eventJson, destinations: routes };
	return { rerouted: jobsFor(row).jobs.map((routed) => ({ ...routed, replay: job.replay })), routes };
}

/**
 * The most a job's body can take before it is in hand: an event read back is at most a stored row,
 * and UTF-8 needs at most 3 bytes per UTF-16 unit of one carried inline.
 */
function bodyBytesBound(job: ForwardJob): number {
	return job.event === undefined ? MAX_ROW_BYTES : 3 * job.event.length;
}

/** The name a job's outcome is recorded under. */
export function destinationOf(job: ForwardJob): string {
	return job.destination ?? (job.destination === null ? "none" : DEFAULT_DESTINATION);
}

/** Loads, routes a job from before routing, signs and posts one event while `held` counts its body. */
async function deliver(
	job: ForwardJob,
	attempt: number,
	destinations: Destinations,
	forwarding: Forwarding,
	held: Permit,
): Promise<Settlement> {
	const eventJson = job.event ?? (await forwarding.loadEvent(job.eventId, job.messageId));
	if (wasErased(forwarding.erasures, messageIdOfJob(job), eventJson)) {
		return erasedEvent(job.eventId, destinationOf(job));
	}
	if (eventJson === null) {
		return settled(job.eventId, destinationOf(job), "dead", "the event is no longer stored (ledger nor D1)");
	}
	const settlement = await deliverLoaded(job, attempt, eventJson, destinations, forwarding.withMedia, held);
	const receivedAt = readReceivedAt(eventJson);
	return receivedAt === null ? settlement : { ...settlement, receivedAt };
}

async function deliverLoaded(
	job: ForwardJob,
	attempt: number,
	eventJson: string,
	destinations: Destinations,
	withMedia: Forwarding["withMedia"],
	held: Permit,
): Promise<Settlement> {
	const { eventId } = job;
	const name = destinationOf(job);
	const schedule = destinations.forward.retryScheduleSeconds;
	let destination = destinations.byName.get(name);
	if (job.destination === undefined) {
		const target = legacyTarget(destinations, job, eventJson);
		if ("skip" in target) return settled(eventId, name, "skipped", target.skip);
		if ("rerouted" in target) {
			return {
				...settled(eventId, name, "skipped", `routed now to ${target.routes.join(", ")}`),
				rerouted: target.rerouted,
			};
		}
		destination = target.destination;
	}
	// Dead, not skipped: recorded and replayable once the destination is configured again (a rename,
	// a typo, an older version still consuming), where a skip would have been a silent loss.
	if (destination === undefined) {
		const error = `destination "${name}" is not configured; replay with {"dead":true,"destination":"${name}"} once it is`;
		return settled(eventId, name, "dead", error);
	}
	const target = { eventId, destination: destination.name };
	if (destination.signingSecrets.length === 0) {
		return retryOrDead(schedule, target, attempt, `${destination.secretName} is not set`);
	}
	// After routing: an event not forwarded never waits for its media.
	const request = await webhookRequest(destination.signingSecrets, eventId, await withMedia(eventJson));
	held.resize(request.body.byteLength);
	const post = await postEvent({ url: destination.url, timeoutMs: destination.timeoutMs }, request);
	switch (post.class) {
		case "delivered":
			return settled(eventId, destination.name, "delivered", null, post);
		case "permanent":
			return settled(eventId, destination.name, "dead", post.error, post);
		case "retryable":
			return retryOrDead(schedule, target, attempt, post.error ?? "failed", post);
	}
}

/**
 * Decides the fate of one delivery: delivered, skipped, retried on the schedule, or dead.
 * `attempt` counts this one, held-back waits not included. Throws only on unexpected errors,
 * which the caller turns into a retry.
 */
export async function settleMessage(
	job: ForwardJob,
	attempt: number,
	forwarding: Forwarding,
	destinations: ConfigResult<Destinations>,
	fallbackSchedule: readonly number[],
): Promise<Settlement> {
	const name = destinationOf(job);
	if (job.destination === null) {
		if (wasErased(forwarding.erasures, messageIdOfJob(job), job.event ?? null)) {
			return erasedEvent(job.eventId, name);
		}
		const skipped = settled(job.eventId, name, "skipped", "it matches no destination");
		const receivedAt = job.event === undefined ? null : readReceivedAt(job.event);
		return receivedAt === null ? skipped : { ...skipped, receivedAt };
	}
	if (!destinations.ok) {
		const target = { eventId: job.eventId, destination: name };
		return retryOrDead(fallbackSchedule, target, attempt, `forwarding is misconfigured: ${destinations.message}`);
	}
	// Counted from before the body is in memory until its POST has ended: at its bound while it
	// loads, then at its real size.
	return forwarding.bodyBytes.run(bodyBytesBound(job), (held) =>
		deliver(job, attempt, destinations.value, forwarding, held),
	);
}

/** A malformed queue message: nothing to retry. */
export function malformed(body: unknown): Settlement {
	return settled("unknown", "none", "dead", `malformed queue message: ${JSON.stringify(body)?.slice(0, 200)}`);
}
