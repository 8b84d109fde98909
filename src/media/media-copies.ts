import * as v from "valibot";
import type { MediaConfig } from "./media-config";
import { mintLink } from "./media-link";
import { type MediaState, MediaStatusSchema } from "./media-state";

/** What the downstream receives in `data.mediaCopies`, and what GET /v1/media/:messageId lists. */
export const MediaCopySchema = v.object({
	index: v.number(),
	originalUrl: v.string(),
	/** A signed link to the relay's copy; null until copied (or when no public origin is known). */
	url: v.nullable(v.string()),
	contentType: v.nullable(v.string()),
	bytes: v.nullable(v.number()),
	sha256: v.nullable(v.string()),
	status: MediaStatusSchema,
	reason: v.nullable(v.string()),
	/** When `url` stops working (RFC 3339); null without a url. */
	expiresAt: v.nullable(v.string()),
});
export type MediaCopy = v.InferOutput<typeof MediaCopySchema>;

/** The copies with fresh links, valid MEDIA_URL_TTL_HOURS from `now`. */
export async function mediaCopiesOf(state: MediaState, config: MediaConfig, now = Date.now()): Promise<MediaCopy[]> {
	const base = config.publicUrl ?? state.origin;
	const exp = Math.floor(now / 1000) + config.urlTtlSeconds;
	return Promise.all(
		state.items.map(async (item) => {
			const url =
				item.status === "copied" && item.key !== null && base !== null
					? await mintLink(config, base, item.key, exp)
					: null;
			return {
				index: item.index,
				originalUrl: item.originalUrl,
				url,
				contentType: item.contentType,
				bytes: item.bytes,
				sha256: item.sha256,
				status: item.status,
				reason: item.reason,
				expiresAt: url === null ? null : new Date(exp * 1000).toISOString(),
			};
		}),
	);
}
