import { expect, it } from "vitest";
import { readTextExcerpt } from "../../src/http/read-body";

/** A stream of `text`'s UTF-8 in chunks of `size` bytes, splitting characters; counts what was pulled. */
function chunked(text: string, size: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
	const bytes = new TextEncoder().encode(text);
	let offset = 0;
	let cancelled = false;
	const stream = new ReadableStream<Uint8Array>({
		pull(controller) {
			if (offset >= bytes.byteLength) return controller.close();
			controller.enqueue(bytes.slice(offset, offset + size));
			offset += size;
		},
		cancel() {
			cancelled = true;
		},
	});
	return { stream, pulled: () => (cancelled ? -offset : offset) };
}

it.each([1, 2, 5, 7, 64])("cuts mixed 1- to 4-byte text at the limit exactly, in chunks of %i bytes", async (size) => {
	const text = "aé✓🚀".repeat(200);
	const { stream, pulled } = chunked(text, size);
	expect(await readTextExcerpt(stream, 300)).toBe(text.slice(0, 300));
	// Cancelled, and read no further than the excerpt needed (300 units are at most 900 bytes).
	expect(pulled()).toBeLessThan(0);
	expect(-pulled()).toBeLessThanOrEqual(900 + size);
});

it("answers a shorter body whole, and an empty one as empty", async () => {
	expect(await readTextExcerpt(chunked("short ✓", 3).stream, 300)).toBe("short ✓");
	expect(await readTextExcerpt(null, 300)).toBe("");
});
