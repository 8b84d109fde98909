import { classifyElement } from "../bandwidth/classify";
import { eventIdOf, quarantineIdOf } from "../bandwidth/event-id";
import { STATUS_RANK } from "../bandwidth/event-types";
import { normalizeEvent } from "../bandwidth/normalize";
import { toUtcIso } from "../bandwidth/timestamp";
import { eventRecordOf } from "../db/events.repository";
import type { NewQuarantineRow } from "../db/quarantine.repository";
import type { LedgerEntry } from "../ledger/ledger-store";
import { MAX_ELEMENT_DEPTH, nestingExceeds, stringifyTruncated } from "./nesting";

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
			const status = info.status;
			return {
				kind: "event",
				entry: { ...record, status, status_rank: status === null ? null : STATUS_RANK[status] },
			};
		}
	}
}
