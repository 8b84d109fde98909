import * as v from "valibot";
import type { EventRow } from "../db/events.repository";
import { errorMessage, log } from "../log";
import { decidedWithoutCopier, eventTimeMs, pastWindow } from "./copy-decided";
import { readMediaConfig } from "./media-config";
import { MediaRequestSchema } from "./media-state";

/*
 * Called after the callback's 200 (waitUntil) with the events its ledgers just stored: starts the
 * copies of each inbound MMS among them at once, so they usually finish before the forward asks
 * for them, and records the origin the callback came to, for links when PUBLIC_URL is unset.
 * Only stored events: a duplicate's copy started with its first arrival, and a quarantined element
 * is never forwarded. Best effort: the forward consumer starts any copy this missed.
 */

type StoredRow = Pick<EventRow, "type" | "direction" | "message_id" | "event_time" | "normalized_json">;

function mediaOf(row: StoredRow): unknown {
	return (JSON.parse(row.normalized_json) as { data?: { media?: unknown } }).data?.media;
}

export async function startMediaCopies(
	env: Pick<Env, "MEDIA_COPIER"> & Partial<Pick<Env, "MEDIA">>,
	rows: readonly StoredRow[],
	origin: string,
): Promise<void> {
	if (env.MEDIA === undefined) return;
	const config = readMediaConfig(env);
	// Nothing a copier could do (invalid settings, no credentials): the forward answers the copies itself.
	if (!config.ok || decidedWithoutCopier(config.value) !== null) return;
	const now = Date.now();
	const starts = rows.flatMap((row) => {
		if (row.type !== "bandwidth.message.received" || row.direction !== "inbound") return [];
		if (pastWindow(eventTimeMs(row.event_time, now), now) !== null) return [];
		const request = v.safeParse(MediaRequestSchema, {
			messageId: row.message_id,
			eventTime: row.event_time,
			media: mediaOf(row),
			origin,
		});
		return request.success ? [request.output] : [];
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
