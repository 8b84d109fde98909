import { insertQuarantine, type NewQuarantineRow } from "../db/quarantine.repository";
import { ledgerNamed, ledgerNameOf } from "../ledger/ledger-client";
import type { LedgerEntry } from "../ledger/ledger-store";
import type { Handoff } from "../ledger/message-ledger.do";
import { errorMessage, log } from "../log";
import { prepareElement } from "./prepare-element";

export interface IngestCounts {
	received: number;
	stored: number;
	duplicates: number;
	quarantined: number;
}

export type IngestResult =
	| { ok: true; counts: IngestCounts; handoffs: Handoff[] }
	| { ok: false; reason: "storage_unavailable"; handoffs: Handoff[] };

/** One accept per ledger bucket: a batch's messages that hash alike share the call. */
function groupByLedger(entries: readonly LedgerEntry[]): Map<string, LedgerEntry[]> {
	const groups = new Map<string, LedgerEntry[]>();
	for (const entry of entries) {
		const name = ledgerNameOf(entry.message_id);
		const group = groups.get(name);
		if (group === undefined) groups.set(name, [entry]);
		else group.push(entry);
	}
	return groups;
}

async function quarantine(db: D1Database, rows: readonly NewQuarantineRow[]): Promise<void> {
	if (rows.length === 0) return;
	await db.batch(insertQuarantine(db, rows));
	for (const row of rows) log.warn("element_quarantined", { quarantineId: row.id, reason: row.reason });
}

/**
 * Makes every element of a batch durable: events in their message's ledger (all ledgers in
 * parallel), invalid elements in quarantine. Succeeds only if every write did, because the
 * answer tells Bandwidth whether to retry the whole batch — and a retry accepts nothing twice.
 * The ledgers' handoffs are for the caller to copy out (drainHandoffs) once it has answered.
 */
export async function ingestBatch(
	env: Pick<Env, "DB" | "MESSAGE_LEDGER">,
	elements: readonly unknown[],
	receivedAt: string,
): Promise<IngestResult> {
	const prepared = await Promise.all(elements.map((element) => prepareElement(element, receivedAt)));
	const entries: LedgerEntry[] = [];
	const invalid: NewQuarantineRow[] = [];
	for (const item of prepared) {
		if (item.kind === "event") entries.push(item.entry);
		else invalid.push(item.row);
	}

	const groups = [...groupByLedger(entries)];
	const [quarantineWrite, ...accepts] = await Promise.allSettled([
		quarantine(env.DB, invalid),
		...groups.map(([name, group]) => ledgerNamed(env, name).accept(group)),
	]);

	let failed = false;
	if (quarantineWrite?.status === "rejected") {
		failed = true;
		log.error("quarantine_write_failed", { elements: invalid.length, error: errorMessage(quarantineWrite.reason) });
	}
	const counts: IngestCounts = { received: elements.length, stored: 0, duplicates: 0, quarantined: invalid.length };
	const handoffs: Handoff[] = [];
	accepts.forEach((accept, index) => {
		if (accept.status === "fulfilled") {
			counts.stored += accept.value.stored;
			counts.duplicates += accept.value.duplicates;
			if (accept.value.handoff !== null) handoffs.push(accept.value.handoff);
			return;
		}
		failed = true;
		log.error("ledger_accept_failed", {
			ledger: groups[index]?.[0],
			messageIds: [...new Set(groups[index]?.[1].map((entry) => entry.message_id))].slice(0, 10),
			error: errorMessage(accept.reason),
		});
	});
	// Even after a failure, what was accepted is handed back: it must still be copied out.
	return failed ? { ok: false, reason: "storage_unavailable", handoffs } : { ok: true, counts, handoffs };
}
