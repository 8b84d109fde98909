import {
	getQuarantine,
	isFinalOutcome,
	markReprocessed,
	type QuarantineRow,
	type ReprocessOutcome,
} from "../db/quarantine.repository";
import { ingestBatch } from "../ingest/ingest-batch";
import { prepareElement } from "../ingest/prepare-element";
import { drainHandoffs } from "../ledger/drain-handoffs";
import { log } from "../log";

export interface ReprocessReport {
	id: string;
	outcome: ReprocessOutcome;
	reason?: string;
	/** The event the element became (`stored`) or already was (`duplicate`). */
	eventId?: string;
	/** Set when the row had a final outcome already: that one is answered, nothing was run. */
	reprocessedAt?: string;
	repeated?: true;
}

export type ReprocessResult =
	| { ok: true; value: ReprocessReport }
	| { ok: false; reason: "not_found" | "storage_unavailable" };

type Run = { outcome: ReprocessOutcome; reason?: string; eventId: string | null };

async function reprocess(
	env: Pick<Env, "DB" | "MESSAGE_LEDGER" | "FORWARD_QUEUE">,
	element: unknown,
	now: string,
): Promise<{ ok: true; value: Run } | { ok: false; reason: "storage_unavailable" }> {
	// The same checks ingest applies; an element still invalid needs no write, its row is already here.
	const prepared = await prepareElement(element, now);
	if (prepared.kind === "invalid") {
		return { ok: true, value: { outcome: "still_invalid", reason: prepared.row.reason, eventId: null } };
	}
	const ingested = await ingestBatch(env, [element], now);
	await drainHandoffs(env, ingested.handoffs);
	if (!ingested.ok) return { ok: false, reason: ingested.reason };
	const { counts } = ingested;
	if (counts.stored > 0) return { ok: true, value: { outcome: "stored", eventId: prepared.entry.id } };
	if (counts.duplicates > 0) return { ok: true, value: { outcome: "duplicate", eventId: prepared.entry.id } };
	// Its ledger refused it (the message has too many events) and quarantined it again: not an event.
	return { ok: true, value: { outcome: "still_invalid", reason: "refused by its ledger", eventId: null } };
}

/** The outcome on record for a row that will not be run again. */
function recorded(row: QuarantineRow & { reprocess_outcome: "stored" | "duplicate" }): ReprocessReport {
	return {
		id: row.id,
		outcome: row.reprocess_outcome,
		...(row.reprocess_event_id === null ? {} : { eventId: row.reprocess_event_id }),
		...(row.reprocessed_at === null ? {} : { reprocessedAt: row.reprocessed_at }),
		repeated: true,
	};
}

/**
 * Runs a quarantined element through ingest again (after a validator fix, say) and records the
 * outcome on its row. The event is accepted as received now: its original receipt was a rejection.
 * An element that became an event (stored, or found already held) is never run again: its ledger
 * forgets it after DEDUPE_DAYS, and a second run would then store and forward it a second time.
 * Such a call answers what was recorded, with `repeated: true`.
 */
export async function reprocessQuarantined(
	env: Pick<Env, "DB" | "MESSAGE_LEDGER" | "FORWARD_QUEUE">,
	id: string,
	now: string,
): Promise<ReprocessResult> {
	const row = await getQuarantine(env.DB, id);
	if (row === null) return { ok: false, reason: "not_found" };
	if (isFinalOutcome(row.reprocess_outcome))
		return { ok: true, value: recorded({ ...row, reprocess_outcome: row.reprocess_outcome }) };
	const run = await reprocess(env, JSON.parse(row.raw_json), now);
	if (!run.ok) return run;
	const after = await markReprocessed(env.DB, id, now, run.value.outcome, run.value.eventId);
	const report: ReprocessReport = {
		id,
		outcome: run.value.outcome,
		...(run.value.reason === undefined ? {} : { reason: run.value.reason }),
		...(run.value.eventId === null ? {} : { eventId: run.value.eventId }),
	};
	// A concurrent run recorded first (or the row was purged meanwhile): answer what stands.
	const value =
		after !== null && isFinalOutcome(after.reprocess_outcome) && after.reprocess_outcome !== run.value.outcome
			? recorded({ ...after, reprocess_outcome: after.reprocess_outcome })
			: report;
	log.info("quarantine_reprocessed", { ...value });
	return { ok: true, value };
}
