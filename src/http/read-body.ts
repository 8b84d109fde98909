import { PayloadTooLargeError } from "./errors";

/**
 * Reads the body while counting bytes, so a chunked upload with no (or a lying) Content-Length
 * is cut off at the cap instead of being buffered whole.
 */
export async function readBodyCapped(request: Request, maxBytes: number): Promise<Uint8Array> {
	const declared = Number(request.headers.get("content-length") ?? Number.NaN);
	if (declared > maxBytes) throw tooLarge(maxBytes);
	if (request.body === null) return new Uint8Array(0);

	const body = await readStreamCapped(request.body, maxBytes);
	if (body === null) throw tooLarge(maxBytes);
	return body;
}

/** A stream's bytes, or null once they pass `maxBytes` (the rest is never read). */
export async function readStreamCapped(
	stream: ReadableStream<Uint8Array>,
	maxBytes: number,
): Promise<Uint8Array | null> {
	const reader = stream.getReader();
	const chunks: Uint8Array[] = [];
	let total = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		total += value.byteLength;
		if (total > maxBytes) {
			await reader.cancel().catch(() => {});
			return null;
		}
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
