import type { ArchiveObjectMeta } from "../archive/archive-layout";

/*
 * An archive object holds many events (one CloudEvent per line, gzip). Erasing some of them
 * rewrites the object under the same key without their lines, with its counts updated: the key
 * still names the same (hour, ledger, part), so the archive stays exactly-once, and a ledger that
 * writes the hour again (after a crash) writes it from rows the erasure already removed.
 */

/** What erasure reads of an archived CloudEvent. */
export interface ArchivedEvent {
	id: string;
	messageId: string | null;
	from: unknown;
	owner: unknown;
	recipient: unknown;
	to: unknown;
	/** data.receivedAt: where its first tries are filed (src/db/attempts.repository.ts). */
	receivedAt: string | null;
}

/** One line, parsed only when asked: most lines of most objects are never parsed. */
export class ArchiveLine {
	readonly text: string;
	#event: ArchivedEvent | null | undefined;

	constructor(text: string) {
		this.text = text;
	}

	get event(): ArchivedEvent | null {
		if (this.#event === undefined) this.#event = parseEvent(this.text);
		return this.#event;
	}
}

function parseEvent(text: string): ArchivedEvent | null {
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		// Not ours to judge: a line erasure cannot read is kept as it is.
		return null;
	}
	if (typeof parsed !== "object" || parsed === null) return null;
	const event = parsed as { id?: unknown; subject?: unknown; data?: Record<string, unknown> };
	const data = typeof event.data === "object" && event.data !== null ? event.data : {};
	const messageId = typeof data.messageId === "string" ? data.messageId : null;
	return {
		id: typeof event.id === "string" ? event.id : "",
		messageId: messageId ?? (typeof event.subject === "string" ? event.subject : null),
		from: data.from,
		owner: data.owner,
		recipient: data.recipient,
		to: data.to,
		receivedAt: typeof data.receivedAt === "string" ? data.receivedAt : null,
	};
}

/** Picks the lines to take out of an object (their indexes). */
export type LinePicker = (lines: readonly ArchiveLine[]) => ReadonlySet<number>;

export interface ObjectRewrite {
	/** The events taken out (none: the object was left as it was). */
	removed: ArchivedEvent[];
	/** Subrequests made (gets, puts, deletes). */
	operations: number;
	/** Uncompressed bytes read. */
	bytes: number;
}

const encoder = new TextEncoder();
/** Gzip shrinks NDJSON of CloudEvents about this much: the estimate for an object stored without its counts. */
const GZIP_RATIO = 8;

/** The uncompressed bytes reading the object costs, from its counts (list with `include: ["customMetadata"]`). */
export function uncompressedBytes(object: R2Object): number {
	return Number(object.customMetadata?.bytes ?? object.size * GZIP_RATIO) || 0;
}

async function gzip(text: string): Promise<ArrayBuffer> {
	return new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
}

async function gunzip(body: ReadableStream): Promise<string> {
	return new Response(body.pipeThrough(new DecompressionStream("gzip"))).text();
}

/** A writer replacing the object while it was read and filtered wins this many times before the erasure gives up. */
const ATTEMPTS = 3;

/**
 * Rewrites one object without the lines `pick` chooses. The put is conditional on the object
 * being the one that was read, so a concurrent rewrite (another erasure, a ledger writing the hour
 * again) is read and filtered again instead of being overwritten. An object left without lines is
 * deleted rather than kept empty.
 *
 * `beforeWrite` is given the events picked before their lines leave the object (again on each
 * attempt): what must go elsewhere first. If it throws, the object is left as it was, so a retried
 * erasure finds them here again.
 */
export async function rewriteArchiveObject(
	archive: R2Bucket,
	key: string,
	pick: LinePicker,
	beforeWrite?: (removed: readonly ArchivedEvent[]) => Promise<void>,
): Promise<ObjectRewrite> {
	const rewrite: ObjectRewrite = { removed: [], operations: 0, bytes: 0 };
	for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
		const object = await archive.get(key);
		rewrite.operations += 1;
		if (object === null) return rewrite;
		const text = await gunzip(object.body);
		rewrite.bytes += text.length;
		const lines = text
			.split("\n")
			.filter((line) => line !== "")
			.map((line) => new ArchiveLine(line));
		const picked = pick(lines);
		if (picked.size === 0) return rewrite;
		const removed = lines.flatMap((line, index) => (picked.has(index) && line.event !== null ? [line.event] : []));
		if (beforeWrite !== undefined) await beforeWrite(removed);
		const kept = lines.filter((_, index) => !picked.has(index)).map((line) => `${line.text}\n`);
		rewrite.operations += 1;
		if (kept.length === 0) {
			await archive.delete(key);
			return { ...rewrite, removed };
		}
		const body = kept.join("");
		const counts: ArchiveObjectMeta = { events: String(kept.length), bytes: String(encoder.encode(body).byteLength) };
		const written = await archive.put(key, await gzip(body), {
			onlyIf: { etagMatches: object.etag },
			httpMetadata: object.httpMetadata ?? { contentType: "application/gzip" },
			customMetadata: { ...object.customMetadata, ...counts },
		});
		if (written !== null) return { ...rewrite, removed };
	}
	throw new Error(`archive object ${key} changed under ${ATTEMPTS} rewrites`);
}

/** Whether the number is the event's sender, owner, recipient, or one of its message's recipients. */
export function involves(event: ArchivedEvent, phoneNumber: string): boolean {
	return (
		event.from === phoneNumber ||
		event.owner === phoneNumber ||
		event.recipient === phoneNumber ||
		(Array.isArray(event.to) && event.to.includes(phoneNumber))
	);
}
