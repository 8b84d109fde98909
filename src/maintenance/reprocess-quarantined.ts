import { getQuarantine, markReprocessed, type ReprocessOutcome } from "../db/quarantine.repository";
import { ingestBatch } from "../ingest/ingest-batch";
import { prepareElement } from "../ingest/prepare-element";
import { drainHandoffs } from "../ledger/drain-handoffs";
import { log } from "../log";

export interface ReprocessReport {
	id: string;
	outcome: ReprocessOutcome;
	reason?: string;
}

export type ReprocessResult =
	| { ok: true; value: ReprocessReport }
	| { ok: false; reason: "not_found" | "storage_unavailable" };

async function reprocess(
	env: Pick<Env, "DB" | "MESSAGE_LEDGER" | "FORWARD_QUEUE">,
	id: string,
	element: unknown,
	now: string,
): Promise<ReprocessResult> {
	// The same checks ingest applies; an element still invalid needs no write, its row is already here.
	const prepared = await prepareElement(element, now);
	if (prepared.kind === "invalid") {
		return { ok: true, value: { id, outcome: "still_invalid", reason: prepared.row.reason } };
	}
	const ingested = await ingestBatch(env, [element], now);
	await drainHandoffs(env, ingested.handoffs);
	if (!ingested.ok) return { ok: false, reason: ingested.reason };
	return { ok: true, value: { id, outcome: ingested.counts.stored > 0 ? "stored" : "duplicate" } };
}

/**
 * Runs a quarantined element through ingest again (after a validator fix, say) and records the
 * outcome on its row. The event is accepted as received now: its original receipt was a rejection.
 */
export async function reprocessQuarantined(
	env: Pick<Env, "DB" | "MESSAGE_LEDGER" | "FORWARD_QUEUE">,
	id: string,
	now: string,
): Promise<ReprocessResult> {
	const row = await getQuarantine(env.DB, id);
	if (row === null) return { ok: false, reason: "not_found" };
	const result = await reprocess(env, id, JSON.parse(row.raw_json), now);
	if (!result.ok) return result;
	await markReprocessed(env.DB, id, now, result.value.outcome);
	log.info("quarantine_reprocessed", { ...result.value });
	return result;
}
