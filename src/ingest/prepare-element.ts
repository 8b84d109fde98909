import { classifyElement } from "../bandwidth/classify";
import { eventIdOf, quarantineIdOf } from "../bandwidth/event-id";
import { normalizeEvent } from "../bandwidth/normalize";
import { toUtcIso } from "../bandwidth/timestamp";
import { eventRecordOf } from "../db/events.repository";
import type { NewQuarantineRow } from "../db/quarantine.repository";
import type { LedgerEntry } from "../ledger/ledger-store";
import { MAX_ELEMENT_DEPTH, nestingExceeds, stringifyTruncated } from "./nesting";

/**
 * D1 and Durable Object SQLite both cap a row at 2 MB, and an event holds its text twice (normalized
 * and original). An event past this would be refused by storage on every retry, forever; it goes
 * to quarantine instead, where its raw form fits.
 */
export const MAX_EVENT_JSON_BYTES = 1_800_000;
const encoder = new TextEncoder();

function tooLargeToStore(json: string): number | null {
	// UTF-8 needs at most 3 bytes per UTF-16 unit: short strings need no measuring.
	if (json.length * 3 <= MAX_EVENT_JSON_BYTES) return null;
	const bytes = encoder.encode(json).byteLength;
	return bytes > MAX_EVENT_JSON_BYTES ? bytes : null;
}

export type PreparedElement = { kind: "event"; entry: LedgerEntry } | { kind: "invalid"; row: NewQuarantineRow };

async function quarantined(rawJson: string, reason: string, receivedAt: string): Promise<PreparedElement> {
	return {
		kind: "invalid",
		row: { id: await quarantineIdOf(rawJson), received_at: receivedAt, reason, raw_json: rawJson },
	};
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
			});
			const event = normalizeEvent({ id, element, raw, info, receivedAt });
			const record = eventRecordOf(event, toUtcIso(event.time) ?? receivedAt);
			const bytes = tooLargeToStore(record.normalized_json);
			if (bytes !== null) {
				const reason = `element: too large to store as an event (${bytes} bytes normalized; at most ${MAX_EVENT_JSON_BYTES})`;
				return quarantined(JSON.stringify(raw), reason, receivedAt);
			}
			return { kind: "event", entry: record };
		}
	}
}
