import { allowedMediaUrl, type MediaHost } from "./media-hosts";

/*
 * Whether a media URL may be fetched with Bandwidth's credentials for one message. The host alone
 * is not enough: whoever holds a callback credential chooses the URL, and any other path on the
 * media host (another message's files, an API endpoint reached with `../`) would be fetched with
 * the relay's credentials, stored and linked. So the path must be this message's media path,
 * `/api/v2/users/{accountId}/media/{messageId}/…` (shared/bandwidth/REFERENCE.md §8).
 *
 * The path is read after WHATWG URL parsing, which resolves `.` and `..` segments, `%2e` spellings
 * included, and turns `\` into `/`: the URL checked is the URL fetched. What parsing leaves
 * encoded (`%2F`, `%5C`) a server may still decode, so no segment may decode to `.`, `..` or
 * anything holding a slash or backslash.
 *
 * accountId is any one such segment, not a configured value: the relay has no account id setting
 * (an OAuth2 client credential does not name one, and Bandwidth can grant one credential several
 * accounts), and the message id — the event's own, chosen by nobody but its sender — already ties
 * the request to the media of the message being copied.
 */

export type MediaUrlCheck = { ok: true; url: URL } | { ok: false; status: "failed" | "skipped"; reason: string };

const HOST_REFUSED = "the URL's host is not in BANDWIDTH_MEDIA_HOSTS (https only)";

function safeSegment(segment: string | undefined): boolean {
	if (segment === undefined || segment === "") return false;
	let decoded: string;
	try {
		decoded = decodeURIComponent(segment);
	} catch {
		return false;
	}
	return decoded !== "." && decoded !== ".." && !/[/\\]/.test(decoded);
}

/** True when `pathname` (as URL parsing left it) is one of `messageId`'s media files. */
export function isMessageMediaPath(pathname: string, messageId: string): boolean {
	const [root, api, version, users, accountId, media, id, ...file] = pathname.split("/");
	return (
		root === "" &&
		api === "api" &&
		version === "v2" &&
		users === "users" &&
		media === "media" &&
		id === messageId &&
		file.length > 0 &&
		[accountId, ...file].every(safeSegment)
	);
}

/**
 * The URL to fetch, or why not: a host that may not get credentials is `failed` (as before this
 * check existed); a path that is not the message's media is `skipped`, never requested.
 */
export function checkMediaUrl(raw: string, hosts: readonly MediaHost[], messageId: string): MediaUrlCheck {
	const url = allowedMediaUrl(raw, hosts);
	if (url === null) return { ok: false, status: "failed", reason: HOST_REFUSED };
	if (!isMessageMediaPath(url.pathname, messageId)) {
		const reason = `the URL's path is not this message's media path (/api/v2/users/{accountId}/media/${messageId}/…)`;
		return { ok: false, status: "skipped", reason };
	}
	return { ok: true, url };
}
