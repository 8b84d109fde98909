import type { MediaConfig } from "./media-config";
import type { MediaRequest, MediaState, MediaStatus } from "./media-state";

/** Bandwidth keeps a message's media for about 48 hours (shared/bandwidth/REFERENCE.md §8). */
export const BANDWIDTH_MEDIA_WINDOW_MS = 48 * 60 * 60 * 1000;

const NO_CREDENTIALS = "no Bandwidth credentials are configured (BANDWIDTH_CLIENT_ID/SECRET)";
const TOO_OLD = "the event is older than Bandwidth's 48 hours of media";

/**
 * Why none of a message's files can be copied, known without asking its copier: no credentials,
 * or an event already past Bandwidth's window (a replay, a late retry). The Worker then answers
 * the copies itself, and no copier object, storage row or alarm is created: a deployment without
 * media credentials pays nothing for its MMS. Null: ask the copier.
 */
export function decidedWithoutCopier(
	config: MediaConfig,
	eventTimeMs: number,
	now: number,
): { status: Extract<MediaStatus, "skipped" | "expired">; reason: string } | null {
	if (config.credentials === null) return { status: "skipped", reason: NO_CREDENTIALS };
	if (now >= eventTimeMs + BANDWIDTH_MEDIA_WINDOW_MS) return { status: "expired", reason: TOO_OLD };
	return null;
}

/** The copies' state as the copier would have answered it for such a message, never stored. */
export function decidedState(
	request: MediaRequest,
	eventTimeMs: number,
	decided: NonNullable<ReturnType<typeof decidedWithoutCopier>>,
	now: number,
): MediaState {
	return {
		messageId: request.messageId,
		eventTime: eventTimeMs,
		startedAt: now,
		origin: request.origin,
		items: request.media.map((originalUrl, index) => ({
			index,
			originalUrl,
			status: decided.status,
			key: null,
			contentType: null,
			bytes: null,
			sha256: null,
			reason: decided.reason,
			attempts: 0,
			lastTriedAt: null,
		})),
	};
}

export function eventTimeMs(time: string, fallback: number): number {
	const parsed = Date.parse(time);
	return Number.isNaN(parsed) ? fallback : parsed;
}
