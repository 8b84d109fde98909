import * as v from "valibot";

/*
 * What a MediaCopier keeps for one message (one storage key, `state`): one item per media URL of
 * its inbound event, in the event's order. An item is `pending` until it is copied or given up on:
 * `failed` (the host refused for good, or the URL may not get credentials), `skipped` (too large,
 * no credentials configured) or `expired` (Bandwidth's 48 hours ran out before a copy succeeded).
 */

const MEDIA_STATUSES = ["copied", "pending", "failed", "skipped", "expired"] as const;
export const MediaStatusSchema = v.picklist(MEDIA_STATUSES);
export type MediaStatus = v.InferOutput<typeof MediaStatusSchema>;

export const MediaItemSchema = v.object({
	index: v.number(),
	originalUrl: v.string(),
	status: MediaStatusSchema,
	/** The R2 key, once copied. */
	key: v.nullable(v.string()),
	contentType: v.nullable(v.string()),
	bytes: v.nullable(v.number()),
	/** Lowercase hex of the bytes stored. */
	sha256: v.nullable(v.string()),
	/** Why it is not (yet) copied: the last failure, for operators and the downstream. */
	reason: v.nullable(v.string()),
	attempts: v.number(),
	lastTriedAt: v.nullable(v.number()),
});
export type MediaItem = v.InferOutput<typeof MediaItemSchema>;

export const MediaStateSchema = v.object({
	messageId: v.string(),
	/** Epoch ms of the event's time: Bandwidth's 48 hours and the retention count from it. */
	eventTime: v.number(),
	startedAt: v.number(),
	/** Origin of the callback that carried the event, for links when PUBLIC_URL is unset. */
	origin: v.nullable(v.string()),
	items: v.array(MediaItemSchema),
});
export type MediaState = v.InferOutput<typeof MediaStateSchema>;

/** What starts a copy: from the callback (origin known) or from the forward consumer (not). */
export const MediaRequestSchema = v.object({
	messageId: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,128}$/)),
	eventTime: v.string(),
	media: v.pipe(v.array(v.string()), v.minLength(1), v.maxLength(50)),
	origin: v.nullable(v.string()),
});
export type MediaRequest = v.InferOutput<typeof MediaRequestSchema>;

/** A file not copied (yet): what every new item and every decided one starts from. */
export function uncopiedItem(
	index: number,
	originalUrl: string,
	status: MediaStatus,
	reason: string | null,
): MediaItem {
	return {
		index,
		originalUrl,
		status,
		key: null,
		contentType: null,
		bytes: null,
		sha256: null,
		reason,
		attempts: 0,
		lastTriedAt: null,
	};
}

export const mediaKey = (messageId: string, index: number) => `${messageId}/${index}`;
