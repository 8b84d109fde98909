/*
 * A cursor handed to clients is JSON in base64url: opaque to them, safe in a query string, and
 * read back as `unknown` for a schema to check (a client may send anything).
 */

import { fromBase64url, toBase64url } from "./base64url";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function encodeOpaqueCursor(value: unknown): string {
	return toBase64url(encoder.encode(JSON.stringify(value)));
}

/** The JSON a cursor holds; undefined when it is not one this relay made. */
export function decodeOpaqueCursor(cursor: string): unknown {
	try {
		return JSON.parse(decoder.decode(fromBase64url(cursor)));
	} catch {
		return undefined;
	}
}
