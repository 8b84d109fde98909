/*
 * The read side of the archive layout (archive-layout.ts): events/YYYY/MM/DD/HH/<name>.ndjson.gz.
 * Every field is zero-padded and most significant first, so keys sort as their hours do: R2 lists
 * in key order, and "older than an hour" is "sorts before that hour's prefix".
 */

export const ARCHIVE_ROOT = "events/";

/** events/2026/12/01/ for 2026-12-01: the objects of one UTC day. */
export function dayPrefix(date: string): string {
	return `${ARCHIVE_ROOT}${date.replaceAll("-", "/")}/`;
}

/** events/2026/12/01/04/: the prefix of the UTC hour `time` falls in. A key of an earlier hour sorts before it. */
export function hourPrefix(time: number): string {
	const iso = new Date(time).toISOString();
	return `${dayPrefix(iso.slice(0, 10))}${iso.slice(11, 13)}/`;
}
