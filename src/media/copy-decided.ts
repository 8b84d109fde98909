import type { MediaConfig } from "./media-config";
import { type MediaRequest, type MediaState, type MediaStatus, uncopiedItem } from "./media-state";

/** Bandwidth keeps a message's media for about 48 hours (shared/bandwidth/REFERENCE.md §8). */
export const BANDWIDTH_MEDIA_WINDOW_MS = 48 * 60 * 60 * 1000;

export const NO_CREDENTIALS = "no Bandwidth credentials are configured (BANDWIDTH_CLIENT_ID/SECRET)";
const TOO_OLD = "the event is older than Bandwidth's 48 hours of media";

type Decided = { status: Extract<MediaStatus, "skipped" | "expired">; reason: string };

/**
 * Without credentials nothing can ever be copied: the Worker answers `skipped` itself, and no
 * copier object, storage row or alarm is created, so a deployment without media credentials pays
 * nothing for its MMS. Null: ask the copier.
 */
export function decidedWithoutCopier(config: MediaConfig): Decided | null {
	return config.credentials === null ? { status: "skipped", reason: NO_CREDENTIALS } : null;
}

/**
 * An event already past Bandwidth's window (a replay, a forward held for days) can no longer be
 * copied. Its copier still answers any copies it made; one that has none stores nothing for it.
 */
export function pastWindow(eventTimeMs: number, now: number): Decided | null {
	return now >= eventTimeMs + BANDWIDTH_MEDIA_WINDOW_MS ? { status: "expired", reason: TOO_OLD } : null;
}

/** The copies' state as the copier would have answered it for such a message, never stored. */
export function decidedState(request: MediaRequest, eventTimeMs: number, decided: Decided, now: number): MediaState {
	return {
		messageId: request.messageId,
		eventTime: eventTimeMs,
		startedAt: now,
		origin: request.origin,
		items: request.media.map((originalUrl, index) => uncopiedItem(index, originalUrl, decided.status, decided.reason)),
	};
}

export function eventTimeMs(time: string, fallback: number): number {
	const parsed = Date.parse(time);
	return Number.isNaN(parsed) ? fallback : parsed;
}
