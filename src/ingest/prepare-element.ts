import { classifyElement, clip } from "../bandwidth/classify";
import { eventIdOf, quarantineIdOf } from "../bandwidth/event-id";
import { normalizeEvent } from "../bandwidth/normalize";
import { toUtcIso } from "../bandwidth/timestamp";
import { eventRecordOf } from "../db/events.repository";
import type { NewQuarantineRow } from "../db/quarantine.repository";
import { MAX_ROW_BYTES, oversizedRow, rowBytes, utf8Bytes } from "../db/row-size";
import type { LedgerEntry } from "../ledger/store/ledger-rows";
import { MAX_ELEMENT_DEPTH, nestingExceeds, stringifyTruncated } from "./nesting";

/** A reason names paths and cut values (classify.ts); this bounds it whatever produced it. */
export const MAX_REASON_CHARS = 1000;

export type PreparedElement = { kind: "event"; entry: LedgerEntry } | { kind: "invalid"; row: NewQuarantineRow };

/**
 * An element re-serialized can be several times its size in the body (`1e20` becomes 21 digits),
 * so even a quarantine row can outgrow the row limit. It is then kept as a JSON object holding the
 * start of the element's JSON: never dropped, and the reason says what was cut.
 */
function truncatedRaw(rawJson: string, rawBytes: number, budget: number): string {
	let keep = Math.min(rawJson.length, budget);
	for (;;) {
		// Never end on half a surrogate pair.
		if (keep > 0 && /[\uD800-\uDBFF]/.test(rawJson.charAt(keep - 1))) keep -= 1;
		const json = JSON.stringify({ truncated: true, jsonBytes: rawBytes, jsonPrefix: rawJson.slice(0, keep) });
		const bytes = utf8Bytes(json);
		if (bytes <= budget) return json;
		// Escaping grows the prefix by at most 2×; shrink in proportion, and always by something.
		keep = Math.max(0, Math.min(keep - 1, Math.floor((keep * budget) / bytes) - 16));
	}
}

async function quarantined(rawJson: string, reason: string, receivedAt: string): Promise<PreparedElement> {
	// The id is of the whole element, truncated or not: a retried batch still maps to the same row.
	const row: NewQuarantineRow = {
		id: await quarantineIdOf(rawJson),
		received_at: receivedAt,
		reason: clip(reason, MAX_REASON_CHARS),
		raw_json: rawJson,
	};
	if (oversizedRow(row) === null) return { kind: "invalid", row };
	const rawBytes = utf8Bytes(rawJson);
	const note = `; raw_json truncated: the element is ${rawBytes} bytes as JSON, more than a row holds`;
	const reasonWithNote = `${clip(reason, MAX_REASON_CHARS - note.length)}${note}`;
	const budget = MAX_ROW_BYTES - rowBytes({ ...row, reason: reasonWithNote, raw_json: "" });
	return {
		kind: "invalid",
		row: { ...row, reason: reasonWithNote, raw_json: truncatedRaw(rawJson, rawBytes, budget) },
	};
}

/** The quarantine row of an event its ledger refused to store (its element, as the event carries it). */
export async function refusedRow(entry: LedgerEntry, reason: string, receivedAt: string): Promise<NewQuarantineRow> {
	const element = (JSON.parse(entry.normalized_json) as { data: { bandwidth: unknown } }).data.bandwidth;
	const prepared = await quarantined(JSON.stringify(element), reason, receivedAt);
	if (prepared.kind !== "invalid") throw new Error("a refused event always becomes a quarantine row");
	return prepared.row;
}

/** One element of a callback batch → a ledger entry ready to accept, or a quarantine row. */
export async function prepareElement(raw: unknown, receivedAt: string): Promise<PreparedElement> {
	if (typeof raw === "object" && raw !== null && nestingExceeds(raw, MAX_ELEMENT_DEPTH)) {
		const reason = `element: nested deeper than ${MAX_ELEMENT_DEPTH} levels`;
		return quarantined(stringifyTruncated(raw, MAX_ELEMENT_DEPTH), reason, receivedAt);
	}
	const classified = classifyElement(raw);
	switch (classified.kind) {
		case "invalid":
			return quarantined(JSON.stringify(raw) ?? "null", classified.reason, receivedAt);
		case "event": {
			const { element, info } = classified;
			const id = await eventIdOf({
				type: element.type,
				messageId: element.message.id,
				to: element.to,
				time: element.time,
				element: raw,
			});
			const event = normalizeEvent({ id, element, raw, info, receivedAt });
			const record = eventRecordOf(event, toUtcIso(event.time) ?? receivedAt);
			// The whole row counts: a huge sender, recipient list or id is copied into its own
			// column and into the normalized event as well as the original.
			const bytes = oversizedRow(record);
			if (bytes !== null) {
				const reason = `element: too large to store as an event (a ${bytes}-byte row; at most ${MAX_ROW_BYTES})`;
				return quarantined(JSON.stringify(raw), reason, receivedAt);
			}
			return { kind: "event", entry: record };
		}
	}
}
