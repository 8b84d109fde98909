import type { Hour } from "../ledger/partitions";
import { type ArchiveObjectMeta, archiveKey } from "./archive-layout";

/** Uncompressed bytes per object: bounds memory (the part is compressed in one piece) and keeps objects easy to stream. */
export const ARCHIVE_PART_BYTES = 8 * 1024 * 1024;

const encoder = new TextEncoder();

async function gzip(lines: readonly string[]): Promise<ArrayBuffer> {
	const stream = new Blob([...lines]).stream().pipeThrough(new CompressionStream("gzip"));
	return new Response(stream).arrayBuffer();
}

export interface HourArchived {
	hour: Hour;
	objects: number;
	events: number;
}

/**
 * Writes one hour of one ledger as gzip NDJSON, one CloudEvent per line, in parts of about
 * ARCHIVE_PART_BYTES. The events arrive in a stable order, so a second run over the same hour
 * writes the same parts under the same keys.
 */
export async function writeArchiveHour(
	archive: R2Bucket,
	ledger: string,
	hour: Hour,
	bodies: AsyncIterable<string> | Iterable<string>,
	partBytes = ARCHIVE_PART_BYTES,
): Promise<HourArchived> {
	let part = 0;
	let events = 0;
	let lines: string[] = [];
	let bytes = 0;
	const flush = async () => {
		if (lines.length === 0) return;
		const customMetadata: ArchiveObjectMeta = { events: String(lines.length), bytes: String(bytes) };
		await archive.put(archiveKey(hour, ledger, part), await gzip(lines), {
			httpMetadata: { contentType: "application/gzip" },
			customMetadata: { ...customMetadata },
		});
		events += lines.length;
		part += 1;
		lines = [];
		bytes = 0;
	};
	for await (const body of bodies) {
		const line = `${body}\n`;
		const size = encoder.encode(line).byteLength;
		if (bytes > 0 && bytes + size > partBytes) await flush();
		lines.push(line);
		bytes += size;
	}
	await flush();
	return { hour, objects: part, events };
}
