/*
 * What the local stand-in for Bandwidth's media host serves for a path: deterministic, so a test in
 * workerd can compute the bytes and SHA-256 the relay must record without asking the server. Pure
 * (no Node APIs): imported by the stand-in (Node) and by tests (workerd). A `.png` without a size
 * is a real picture (a colour from the path), so a newcomer who opens its relay link sees one.
 */

export const DEFAULT_MEDIA_BYTES = 2048;

function seedOf(path: string): number {
	let seed = 7;
	for (let i = 0; i < path.length; i++) seed = (seed * 31 + path.charCodeAt(i)) >>> 0;
	return seed;
}

function mediaBytes(path: string, size: number): Uint8Array {
	const seed = seedOf(path);
	const bytes = new Uint8Array(size);
	for (let i = 0; i < size; i++) bytes[i] = (seed + i * 131 + (i >>> 8)) & 0xff;
	return bytes;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
	let c = n;
	for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
	return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
	let crc = 0xffffffff;
	for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
	return (crc ^ 0xffffffff) >>> 0;
}

function u32(value: number): number[] {
	return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

function chunk(type: string, data: Uint8Array): number[] {
	const typed = new Uint8Array([...[...type].map((char) => char.charCodeAt(0)), ...data]);
	return [...u32(data.length), ...typed, ...u32(crc32(typed))];
}

/** A 48×48 PNG: a diagonal gradient in a colour of the path's. zlib with one stored block. */
export function picture(path: string): Uint8Array {
	const side = 48;
	const seed = seedOf(path);
	const raw: number[] = [];
	for (let y = 0; y < side; y++) {
		raw.push(0);
		for (let x = 0; x < side; x++) {
			const shade = ((x + y) * 255) / (2 * side);
			raw.push((seed & 0xff) ^ shade, ((seed >>> 8) & 0xff) ^ (shade / 2), (seed >>> 16) & 0xff);
		}
	}
	let a = 1;
	let b = 0;
	for (const byte of raw) {
		a = (a + byte) % 65521;
		b = (b + a) % 65521;
	}
	const length = raw.length;
	const zlib = [0x78, 0x01, 0x01, length & 0xff, length >>> 8, ~length & 0xff, (~length >>> 8) & 0xff, ...raw];
	zlib.push(...u32(((b << 16) | a) >>> 0));
	const header = new Uint8Array([...u32(side), ...u32(side), 8, 2, 0, 0, 0]);
	return new Uint8Array([
		0x89,
		0x50,
		0x4e,
		0x47,
		0x0d,
		0x0a,
		0x1a,
		0x0a,
		...chunk("IHDR", header),
		...chunk("IDAT", new Uint8Array(zlib)),
		...chunk("IEND", new Uint8Array()),
	]);
}

/** The file at `path`: `size` bytes of a pattern, or a real picture for a `.png` without a size. */
export function mediaFile(path: string, size?: number): Uint8Array {
	if (size === undefined && path.toLowerCase().endsWith(".png")) return picture(path);
	return mediaBytes(path, size ?? DEFAULT_MEDIA_BYTES);
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
