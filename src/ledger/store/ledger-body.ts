import type { NormalizedEvent } from "../../bandwidth/normalize";
import { toUtcIso } from "../../bandwidth/timestamp";
import { decodeEvent } from "../../db/event-body";
import { type EventRow, eventRecordOf, withSequence } from "../../db/events.repository";
import type { LedgerEntry } from "./ledger-rows";

/*
 * How a ledger row holds its event. A WITHOUT ROWID row whose record passes ~1,000 bytes spills
 * into a whole 4 KB overflow page, and a bucket's 10 GB is what bounds its rate, so the row keeps
 * beside its key only what SQL reads (state, hour, recipient, status) and one compressed body:
 *
 *   deflate-raw( <JSON of what the CloudEvent does not say> "\n" <the CloudEvent, sequence 0> )
 *
 * The first line is the routing (`destinations`) and anything else ingest adds that the event
 * itself does not carry. Everything else D1 needs is derived from the CloudEvent again on read,
 * exactly as ingest built it (eventRecordOf). JSON never holds a raw newline, so the first one
 * splits the two. The sequence is a column; readers put it back into the event.
 *
 * Rows written before this kept their metadata as JSON in a `meta` column beside a gzip body (or,
 * before that, the JSON with its sequence as text); a row with a non-empty `meta` is read that way.
 * Measured on Bandwidth's documented samples (test/ledger/row-size.test.ts): ~600 bytes of record
 * where the old rows took ~890, and some spilled.
 */

/** A body as stored: bytes (deflate-raw now, gzip in legacy rows) or text. */
export type StoredBody = ArrayBuffer | string;

/** The columns a reader needs to rebuild an event; `meta` is "" for rows in this format. */
export type StoredEvent = {
	message_id: string;
	id: string;
	sequence: number;
	meta: string;
	body: StoredBody;
};

/** Raw deflate: gzip's header and trailer are 18 bytes a row that nothing here reads. */
const FORMAT = "deflate-raw";

/** What the CloudEvent does not say: ingest's routing, and whatever else joins EventRow beside it. */
function notInEvent(entry: LedgerEntry): Record<string, unknown> {
	const {
		id: _id,
		message_id: _messageId,
		type: _type,
		direction: _direction,
		recipient: _recipient,
		from_number: _from,
		owner: _owner,
		application_id: _application,
		error_code: _errorCode,
		event_time: _eventTime,
		received_at: _receivedAt,
		status: _status,
		status_rank: _statusRank,
		normalized_json: _json,
		packed: _packed,
		// What a Worker from before this format hands over; never stored.
		body_gz: _bodyGz,
		...rest
	} = entry as LedgerEntry & { body_gz?: unknown };
	return rest;
}

/** The body as text: what is stored when no compressed body came with the entry. */
export function bodyText(entry: LedgerEntry): string {
	return `${JSON.stringify(notInEvent(entry))}\n${entry.normalized_json}`;
}

/** The body compressed, as the Worker hands it to the ledger (whose transaction cannot await). */
export async function packBody(entry: LedgerEntry): Promise<Uint8Array<ArrayBuffer>> {
	const stream = new Blob([bodyText(entry)]).stream().pipeThrough(new CompressionStream(FORMAT));
	return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function textOf(body: StoredBody): Promise<string> {
	if (typeof body === "string") return body;
	const stream = new Blob([body]).stream().pipeThrough(new DecompressionStream(FORMAT));
	return new Response(stream).text();
}

function split(text: string): { head: string; json: string } {
	const newline = text.indexOf("\n");
	if (newline < 0) throw new Error("a ledger body without its first line");
	return { head: text.slice(0, newline), json: text.slice(newline + 1) };
}

/** The CloudEvent of a stored row, with its sequence. */
export async function eventJsonOf(row: StoredEvent): Promise<string> {
	if (row.meta !== "") {
		// A legacy text row already holds its sequence; the placeholder could also occur inside data.bandwidth.
		return typeof row.body === "string" ? row.body : withSequence(await decodeEvent(row.body), row.sequence);
	}
	return withSequence(split(await textOf(row.body)).json, row.sequence);
}

/** The D1 row of a stored event (its metadata and its CloudEvent with the sequence). */
export async function eventRowOf(row: StoredEvent): Promise<EventRow> {
	if (row.meta !== "") {
		const meta = JSON.parse(row.meta) as Omit<EventRow, "id" | "message_id" | "sequence" | "normalized_json">;
		return {
			...meta,
			id: row.id,
			message_id: row.message_id,
			sequence: row.sequence,
			normalized_json: await eventJsonOf(row),
		};
	}
	const { head, json } = split(await textOf(row.body));
	const withIt = withSequence(json, row.sequence);
	const event = JSON.parse(withIt) as NormalizedEvent;
	// As ingest built it (src/ingest/prepare-element.ts); the JSON is the stored text, not re-serialized.
	const derived = eventRecordOf(event, toUtcIso(event.time) ?? event.data.receivedAt);
	return {
		...derived,
		...(JSON.parse(head) as Partial<EventRow>),
		id: row.id,
		message_id: row.message_id,
		sequence: row.sequence,
		normalized_json: withIt,
	};
}
