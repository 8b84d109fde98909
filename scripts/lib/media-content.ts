/*
 * The bytes the local stand-in for Bandwidth's media host serves for a path: deterministic, so a
 * test in workerd can compute the SHA-256 the relay must record without reading the server. Pure
 * (no Node APIs): imported by the stand-in (Node) and by tests (workerd).
 */

export const DEFAULT_MEDIA_BYTES = 2048;

export function mediaBytes(path: string, size: number): Uint8Array {
	let seed = 7;
	for (let i = 0; i < path.length; i++) seed = (seed * 31 + path.charCodeAt(i)) >>> 0;
	const bytes = new Uint8Array(size);
	for (let i = 0; i < size; i++) bytes[i] = (seed + i * 131 + (i >>> 8)) & 0xff;
	return bytes;
}

const TYPES: Record<string, string> = {
	png: "image/png",
	jpg: "image/jpeg",
	jpeg: "image/jpeg",
	gif: "image/gif",
	txt: "text/plain",
	vcf: "text/vcard",
	html: "text/html",
};

export function mediaContentType(path: string): string {
	return TYPES[path.slice(path.lastIndexOf(".") + 1).toLowerCase()] ?? "application/octet-stream";
}
