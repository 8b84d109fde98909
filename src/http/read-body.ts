import { within } from "../within";
import { PayloadTooLargeError } from "./errors";

/**
 * Past the cap, a request body is read on and thrown away, up to this many more bytes and for at
 * most DRAIN_MAX_MS, before the 413 goes out; then the rest is cancelled. A client still sending
 * when the answer comes and the connection closes gets a TCP reset, which can destroy the answer
 * before it reads it (RFC 9112 §9.6); and `wrangler dev`'s entry worker answers 500 "Network
 * connection lost" instead of the 413 when the Worker has begun a chunked body and given it up
 * (a quarter of such uploads, six at a time, on a 2-core machine; none once drained). Only a
 * caller past the credentials reads a body at all; what it sends beyond this is still cut off.
 */
export const DRAIN_MAX_BYTES = 8 * 1024 * 1024;
const DRAIN_MAX_MS = 1000;

/**
 * Reads the body while counting bytes, so a chunked upload with no (or a lying) Content-Length
 * is refused at the cap instead of being buffered whole. A declared length over the cap is
 * refused without reading the body at all.
 */
export async function readBodyCapped(request: Request, maxBytes: number): Promise<Uint8Array> {
	const declared = Number(request.headers.get("content-length") ?? Number.NaN);
	if (declared > maxBytes) throw tooLarge(maxBytes);
	if (request.body === null) return new Uint8Array(0);

	const reader = request.body.getReader();
	const body = await readCapped(reader, maxBytes);
	if (body === null) {
		await drain(reader);
		throw tooLarge(maxBytes);
	}
	return body;
}

/** A stream's bytes, or null once they pass `maxBytes` (the rest is cancelled, never read). */
export async function readStreamCapped(
	stream: ReadableStream<Uint8Array>,
	maxBytes: number,
): Promise<Uint8Array | null> {
	const reader = stream.getReader();
	const body = await readCapped(reader, maxBytes);
	if (body === null) await reader.cancel().catch(() => {});
	return body;
}

/** Reads and discards what follows, within DRAIN_MAX_BYTES and DRAIN_MAX_MS, then cancels the rest. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
	const deadline = Date.now() + DRAIN_MAX_MS;
	let drained = 0;
	try {
		while (drained <= DRAIN_MAX_BYTES) {
			const next = await within(reader.read(), deadline - Date.now(), () => null);
			if (next === null || next.done) break;
			drained += next.value.byteLength;
		}
	} catch {
		// The client went away: nothing left to answer politely.
	} finally {
		await reader.cancel().catch(() => {});
	}
}

/** The bytes read, or null once they pass `maxBytes`; the reader is left open either way. */
async function readCapped(
	reader: ReadableStreamDefaultReader<Uint8Array>,
	maxBytes: number,
): Promise<Uint8Array | null> {
	const chunks: Uint8Array[] = [];
	let total = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		total += value.byteLength;
		if (total > maxBytes) return null;
		chunks.push(value);
	}
	if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
	const body = new Uint8Array(total);
	let offset = 0;
	for (const chunk of chunks) {
		body.set(chunk, offset);
		offset += chunk.byteLength;
	}
	return body;
}

function tooLarge(maxBytes: number): PayloadTooLargeError {
	return new PayloadTooLargeError(`the body is larger than ${maxBytes} bytes`);
}

/**
 * The first `maxChars` UTF-16 units of a stream's text, reading no more than they need; the rest
 * is cancelled, never read. A stream that fails midway (a timeout, a reset) answers what it had.
 */
export async function readTextExcerpt(stream: ReadableStream<Uint8Array> | null, maxChars: number): Promise<string> {
	if (stream === null) return "";
	const reader = stream.getReader();
	const decoder = new TextDecoder();
	let text = "";
	try {
		while (text.length < maxChars) {
			const { done, value } = await reader.read();
			if (done) {
				text += decoder.decode();
				break;
			}
			// Three UTF-8 bytes always make at least one UTF-16 unit (plus three held for a split
			// character), so this much of a chunk completes the excerpt whenever the chunk has it,
			// and what is cut off is never needed.
			text += decoder.decode(value.subarray(0, (maxChars - text.length) * 3 + 3), { stream: true });
		}
	} catch {
		// What arrived before the failure is the excerpt.
	} finally {
		await reader.cancel().catch(() => {});
	}
	return text.slice(0, maxChars);
}
