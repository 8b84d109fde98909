/*
 * D1 keeps each CloudEvent gzip-compressed (`events.event_gz`). A typical event is 1.1 KB of JSON
 * and 480 bytes compressed: the row then stays inside its b-tree page instead of spilling into
 * overflow pages (a WITHOUT ROWID row of 1.3 KB of text took 4.8 KB), which keeps D1's bytes per
 * event, and so the history a byte budget holds, about three times better. Nothing in SQL reads the
 * body; every reader is the Worker, which decodes it here.
 */

export async function encodeEvent(json: string): Promise<Uint8Array<ArrayBuffer>> {
	const stream = new Blob([json]).stream().pipeThrough(new CompressionStream("gzip"));
	return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * D1 answers a BLOB as an array of byte values. A row written before the body was compressed
 * (migration 0002 copied the JSON as it was) answers a string, which is already the JSON.
 */
export async function decodeEvent(value: unknown): Promise<string> {
	if (typeof value === "string") return value;
	const bytes =
		value instanceof Uint8Array
			? value
			: value instanceof ArrayBuffer
				? new Uint8Array(value)
				: Uint8Array.from(value as ArrayLike<number>);
	const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
	return new Response(stream).text();
}
