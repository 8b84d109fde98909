/*
 * A cursor handed to clients is JSON in base64url: opaque to them, safe in a query string, and
 * read back as `unknown` for a schema to check (a client may send anything).
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function encodeOpaqueCursor(value: unknown): string {
	const binary = String.fromCharCode(...encoder.encode(JSON.stringify(value)));
	return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The JSON a cursor holds; undefined when it is not one this relay made. */
export function decodeOpaqueCursor(cursor: string): unknown {
	try {
		const binary = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
		return JSON.parse(decoder.decode(Uint8Array.from(binary, (char) => char.charCodeAt(0))));
	} catch {
		return undefined;
	}
}
