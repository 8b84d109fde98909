/*
 * The Content-Type a media copy is served with. The stored type is whatever the media host
 * answered, and a browser reads a header holding a list by its last entry: `audio/x;a=1, text/html`
 * renders as HTML on the relay's origin, which also serves the console. So the stored value is
 * never sent. It must be one well-formed media type (RFC 9110 §8.3.1: `type/subtype`, then
 * `;`-separated token or quoted parameters, nothing else, so no list) on the allowlist below; it is
 * then sent as its bare `type/subtype` (the parameters dropped: no inline type here needs one).
 * Anything else is sent as `application/octet-stream`, downloaded.
 */

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = String.raw`"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"`;
const PARAMETER = String.raw`[ \t]*;[ \t]*(?:${TOKEN}=(?:${TOKEN}|${QUOTED}))?`;
const MEDIA_TYPE = new RegExp(String.raw`^[ \t]*(${TOKEN}/${TOKEN})(?:${PARAMETER})*[ \t]*$`);
/** Longer than any real type; also bounds the pattern's work on a hostile value. */
const MAX_LENGTH = 256;

/** Pictures, sound and video a browser shows as such, never as a document (no SVG: it runs script). */
const INLINE_TYPES: ReadonlySet<string> = new Set([
	"image/png",
	"image/jpeg",
	"image/gif",
	"image/webp",
	"image/bmp",
	"image/heic",
	"image/heif",
	"image/avif",
	"audio/mpeg",
	"audio/mp4",
	"audio/aac",
	"audio/ogg",
	"audio/wav",
	"audio/x-wav",
	"audio/webm",
	"audio/flac",
	"audio/amr",
	"audio/3gpp",
	"audio/3gpp2",
	"video/mp4",
	"video/mpeg",
	"video/webm",
	"video/ogg",
	"video/quicktime",
	"video/3gpp",
	"video/3gpp2",
]);

export interface ServedType {
	contentType: string;
	/** False: served with `content-disposition: attachment`. */
	inline: boolean;
}

const DOWNLOAD: ServedType = { contentType: "application/octet-stream", inline: false };

export function servedType(stored: string | undefined): ServedType {
	if (stored === undefined || stored.length > MAX_LENGTH) return DOWNLOAD;
	const essence = MEDIA_TYPE.exec(stored)?.[1]?.toLowerCase();
	return essence !== undefined && INLINE_TYPES.has(essence) ? { contentType: essence, inline: true } : DOWNLOAD;
}
