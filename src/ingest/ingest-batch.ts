import { insertQuarantine, messageIdOfQuarantined, type NewQuarantineRow } from "../db/quarantine.repository";
import { readDestinations } from "../destinations/read-destinations";
import { routeEvent } from "../destinations/route-event";
import { Limit } from "../forward/limit";
import { outOfScopeReason } from "../http/callback-credentials";
import { type LedgerEnv, ledgerNamed, ledgerNameOf } from "../ledger/ledger-client";
import type { Handoff } from "../ledger/ledger-rpc";
import { MAX_EVENTS_PER_MESSAGE } from "../ledger/message-ledger.do";
import { packBody } from "../ledger/store/ledger-body";
import type { LedgerEntry } from "../ledger/store/ledger-rows";
import { errorMessage, log } from "../log";
import { recordCallback } from "../metrics/record-metrics";
import { settleAll } from "../settle-all";
import { prepareElement, refusedRow } from "./prepare-element";

const COMPRESSING_AT_ONCE = 8;

export interface IngestCounts {
	received: number;
	stored: number;
	duplicates: number;
	quarantined: number;
}

export type IngestResult =
	| { ok: true; counts: IngestCounts; handoffs: Handoff[] }
	| { ok: false; reason: "storage_unavailable"; handoffs: Handoff[] };

/**
 * Compresses each event as its ledger stores it (with its routing, so after routeEvent), here
 * rather than in the ledger, whose transaction cannot wait and whose thread every message of its
 * bucket shares. A few at a time: each deflate stream holds ~256 KB of zlib state, and a batch can
 * hold 1,000 events.
 */
async function compressBodies(entries: LedgerEntry[]): Promise<void> {
	const limit = new Limit(COMPRESSING_AT_ONCE);
	await Promise.all(
		entries.map((entry) =>
			limit.run(1, async () => {
				entry.packed = await packBody(entry);
			}),
		),
	);
}

/** One accept per ledger bucket: a batch's messages that hash alike share the call. */
function groupByLedger(env: LedgerEnv, entries: readonly LedgerEntry[]): Map<string, LedgerEntry[]> {
	const groups = new Map<string, LedgerEntry[]>();
	for (const entry of entries) {
		const name = ledgerNameOf(env, entry.message_id);
		const group = groups.get(name);
		if (group === undefined) groups.set(name, [entry]);
		else group.push(entry);
	}
	return groups;
}

/**
 * Invalid elements go to D1's quarantine; while D1 refuses them they are held by a ledger (durable
 * like an event), which gets them into D1 later. Only when both fail does the callback get a 500.
 */
async function quarantine(env: Pick<Env, "DB" | "MESSAGE_LEDGER">, rows: readonly NewQuarantineRow[]): Promise<void> {
	if (rows.length === 0) return;
	try {
		await env.DB.batch(insertQuarantine(env.DB, rows));
	} catch (error) {
		log.warn("quarantine_write_deferred", { elements: rows.length, error: errorMessage(error) });
		// Each in its message's ledger, so erasing the message finds it there; an element without a
		// message id in the ledger its quarantine id hashes to.
		const byLedger = new Map<string, NewQuarantineRow[]>();
		for (const row of rows) {
			const name = ledgerNameOf(env, messageIdOfQuarantined(row.raw_json) ?? row.id);
			byLedger.set(name, [...(byLedger.get(name) ?? []), row]);
		}
		await settleAll([...byLedger].map(([name, held]) => ledgerNamed(env, name).holdQuarantine(held)));
	}
	for (const row of rows) log.warn("element_quarantined", { quarantineId: row.id, reason: row.reason });
}

const REFUSED_REASON = `message.id: the message already has ${MAX_EVENTS_PER_MESSAGE} events; more are quarantined, not stored`;

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
	/** The applications the callback's credential may post for; null: any. */
	applications: ReadonlySet<string> | null = null,
): Promise<IngestResult> {
	const prepared = await Promise.all(elements.map((element) => prepareElement(element, receivedAt)));
	const entries: LedgerEntry[] = [];
	const invalid: NewQuarantineRow[] = [];
	const outOfScope: LedgerEntry[] = [];
	for (const item of prepared) {
		if (item.kind === "invalid") invalid.push(item.row);
		else if (applications === null || applications.has(item.entry.application_id ?? "")) entries.push(item.entry);
		// A valid event for an application its credential does not cover: what a leaked credential would post.
		else outOfScope.push(item.entry);
	}
	invalid.push(
		...(await Promise.all(
			outOfScope.map((entry) => refusedRow(entry, outOfScopeReason(entry.application_id), receivedAt)),
		)),
	);

	// Routed once, here: an invalid DESTINATIONS leaves the choice to the consumer, which retries
	// each event as misconfigured until it is fixed (null: route when forwarded).
	const routing = readDestinations(env);
	for (const entry of entries) entry.destinations = routing.ok ? routeEvent(routing.value.list, entry) : null;
	await compressBodies(entries);
	const groups = [...groupByLedger(env, entries)];
	const [quarantineWrite, ...accepts] = await Promise.allSettled([
		quarantine(env, invalid),
		...groups.map(([name, group]) => ledgerNamed(env, name).accept(group)),
	]);

	let failed = false;
	if (quarantineWrite?.status === "rejected") {
		failed = true;
		log.error("quarantine_write_failed", { elements: invalid.length, error: errorMessage(quarantineWrite.reason) });
	}
	const counts: IngestCounts = { received: elements.length, stored: 0, duplicates: 0, quarantined: invalid.length };
	const handoffs: Handoff[] = [];
	const refused: LedgerEntry[] = [];
	accepts.forEach((accept, index) => {
		if (accept.status === "fulfilled") {
			counts.stored += accept.value.stored;
			counts.duplicates += accept.value.duplicates;
			refused.push(...accept.value.refused);
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
	const reasons = invalid.map((row) => row.reason);
	if (refused.length > 0) {
		// Rare (a flood under one message id): a second quarantine write, after the ledgers said no.
		try {
			await quarantine(env, await Promise.all(refused.map((entry) => refusedRow(entry, REFUSED_REASON, receivedAt))));
			counts.quarantined += refused.length;
			reasons.push(...refused.map(() => REFUSED_REASON));
		} catch (error) {
			failed = true;
			log.error("quarantine_write_failed", { elements: refused.length, error: errorMessage(error) });
		}
	}
	// Even after a failure, what was accepted is handed back: it must still be copied out.
	if (!failed) recordCallback(env, counts, entries, reasons);
	return failed ? { ok: false, reason: "storage_unavailable", handoffs } : { ok: true, counts, handoffs };
}
