import * as v from "valibot";
import { errorMessage, log } from "../log";
import { within } from "../within";
import { decidedState, decidedWithoutCopier, eventTimeMs } from "./copy-decided";
import { readMediaConfig } from "./media-config";
import { mediaCopiesOf } from "./media-copies";
import { type MediaRequest, MediaRequestSchema, type MediaState, uncopiedItem } from "./media-state";

/*
 * The one seam between forwarding and media: the forward consumer passes each event body through
 * here just before it signs it. An inbound message-received event with media gains
 * `data.mediaCopies`; every other body comes back as the same string. `data.bandwidth` is never
 * touched. It also starts the copy if the callback's own start was lost (waitUntil is best effort),
 * so a copy is as durable as the forward job.
 */

const COPIER_MARGIN_MS = 5_000;

type MediaEnv = Pick<Env, "MEDIA_COPIER"> & Partial<Pick<Env, "MEDIA">>;

const InboundMmsSchema = v.object({
	type: v.literal("bandwidth.message.received"),
	time: v.string(),
	data: v.object({
		messageId: v.string(),
		direction: v.literal("inbound"),
		media: v.pipe(v.array(v.string()), v.minLength(1)),
	}),
});

/**
 * The state of a message's copies. If the copier cannot be reached the event still goes, its files
 * marked pending: forwarding must not stop for media. The copy goes on if the callback started it;
 * if that start was lost too, no copy is made, and `media_state_unavailable` says so in the log.
 */
async function copiesFor(env: MediaEnv, request: MediaRequest, waitMs: number): Promise<MediaState | null> {
	try {
		// The copier answers within waitMs; past that and a margin, the forward goes without it.
		const copies = env.MEDIA_COPIER.getByName(request.messageId).copies(request, waitMs);
		return await within(copies, waitMs + COPIER_MARGIN_MS, () => {
			throw new Error(`the copier did not answer in ${waitMs + COPIER_MARGIN_MS} ms`);
		});
	} catch (error) {
		log.error("media_state_unavailable", { messageId: request.messageId, error: errorMessage(error) });
		const now = Date.now();
		return {
			messageId: request.messageId,
			eventTime: now,
			startedAt: now,
			origin: null,
			items: request.media.map((originalUrl, index) =>
				uncopiedItem(index, originalUrl, "pending", "the copy's state could not be read"),
			),
		};
	}
}

export async function withMediaCopies(eventJson: string, env: MediaEnv): Promise<string> {
	// Cheap refusals first: most events are not inbound MMS, and MEDIA unbound means the feature is off.
	if (env.MEDIA === undefined || !eventJson.includes('"bandwidth.message.received"')) return eventJson;
	const event = JSON.parse(eventJson) as { time?: unknown; data: Record<string, unknown> };
	const inbound = v.safeParse(InboundMmsSchema, event);
	if (!inbound.success) return eventJson;
	const request = v.safeParse(MediaRequestSchema, {
		messageId: inbound.output.data.messageId,
		eventTime: inbound.output.time,
		media: inbound.output.data.media,
		origin: null,
	});
	const config = readMediaConfig(env);
	if (!config.ok) {
		log.error("config_invalid", { message: config.message });
		return eventJson;
	}
	if (!request.success) return eventJson;
	const now = Date.now();
	const eventTime = eventTimeMs(request.output.eventTime, now);
	const decided = decidedWithoutCopier(config.value);
	const state =
		decided === null
			? await copiesFor(env, request.output, config.value.forwardDelayMs)
			: decidedState(request.output, eventTime, decided, now);
	if (state === null) return eventJson;
	// Links minted after the wait, so each is valid its full MEDIA_URL_TTL_HOURS from the send.
	event.data.mediaCopies = await mediaCopiesOf(state, config.value);
	return JSON.stringify(event);
}

/**
 * The most a forward can wait for media: what a consumer adds to the time its attempts hold a
 * destination's concurrency slots. Zero where nothing is copied.
 */
export function mediaWaitMs(env: MediaEnv): number {
	if (env.MEDIA === undefined) return 0;
	const config = readMediaConfig(env);
	if (!config.ok || decidedWithoutCopier(config.value) !== null) return 0;
	return config.value.forwardDelayMs + COPIER_MARGIN_MS;
}
