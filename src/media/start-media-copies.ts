import * as v from "valibot";
import { classifyElement } from "../bandwidth/classify";
import { errorMessage, log } from "../log";
import { decidedWithoutCopier, eventTimeMs, pastWindow } from "./copy-decided";
import { readMediaConfig } from "./media-config";
import { MediaRequestSchema } from "./media-state";

/*
 * Called after the callback's 200 (waitUntil): starts the copies of each inbound MMS in the batch
 * at once, so they usually finish before the forward asks for them, and records the origin the
 * callback came to, for links when PUBLIC_URL is unset. Best effort: the forward consumer starts
 * any copy this missed (with-media-copies.ts).
 */

const InboundElementSchema = v.object({
	type: v.literal("message-received"),
	time: v.string(),
	message: v.object({
		id: v.string(),
		direction: v.literal("in"),
		applicationId: v.optional(v.string()),
		media: v.pipe(v.array(v.string()), v.minLength(1)),
	}),
});

export async function startMediaCopies(
	env: Pick<Env, "MEDIA_COPIER"> & Partial<Pick<Env, "MEDIA">>,
	elements: readonly unknown[],
	origin: string,
	applications: ReadonlySet<string> | null,
): Promise<void> {
	if (env.MEDIA === undefined) return;
	const config = readMediaConfig(env);
	// Invalid settings: the copier records why for each file, as it always has.
	const now = Date.now();
	const starts = elements.flatMap((element) => {
		const inbound = v.safeParse(InboundElementSchema, element);
		// Only what ingest stores: an element it quarantines gets no copy (nothing would forward it).
		if (!inbound.success || classifyElement(element).kind !== "event") return [];
		const { message, time } = inbound.output;
		// A credential limited to some applications copies nothing for the others (they were refused).
		if (applications !== null && !applications.has(message.applicationId ?? "")) return [];
		const request = v.safeParse(MediaRequestSchema, {
			messageId: message.id,
			eventTime: time,
			media: message.media,
			origin,
		});
		if (!request.success) return [];
		// Nothing a copier could do (no credentials, too old): the forward answers the copies itself.
		if (config.ok && decidedWithoutCopier(config.value) !== null) return [];
		if (pastWindow(eventTimeMs(time, now), now) !== null) return [];
		return [request.output];
	});
	await Promise.all(
		starts.map(async (request) => {
			try {
				await env.MEDIA_COPIER.getByName(request.messageId).start(request);
			} catch (error) {
				log.warn("media_start_failed", { messageId: request.messageId, error: errorMessage(error) });
			}
		}),
	);
}
