import { eraseFirstTries } from "../db/attempts.repository";
import { ledgerNamed, ledgerNameOf } from "../ledger/ledger-client";
import type { MessagesErased } from "../ledger/store/ledger-rows";
import { eraseMedia } from "../media/erase-media";
import { settleAll } from "../settle-all";
import { acceptedFiles, eraseMessagesFromD1, tombstoneMessages } from "./erasure.repository";
import type { ErasureBudget } from "./erasure-budget";
import type { ErasureCounts } from "./erasure-counts";

/** Durable Object calls in flight at once: a Worker lets six connections wait for headers. */
const PARALLEL = 6;

/**
 * Erases whole messages from the ledgers, media and D1: one call per ledger bucket involved, then
 * one D1 batch. The tombstone goes first, so that no copy still in flight (a ledger's to D1, a
 * forward's attempt row, a media copy) brings them back; media before the ledgers, which may be
 * the only place the caller found them (an erasure by number's pending step): a call that fails
 * before the ledgers let go finds them there again when it is repeated. `knownEvents` are
 * events of these messages found elsewhere (the archive), whose deliveries rows must go even if
 * D1 no longer has the events, and whose first tries go by their receipt time.
 */
export async function eraseMessages(
	env: Pick<Env, "DB" | "MESSAGE_LEDGER"> & Partial<Pick<Env, "MEDIA_COPIER">>,
	messageIds: readonly string[],
	budget: ErasureBudget,
	options: { ledgers: boolean; knownEvents?: ReadonlyArray<{ id: string; receivedAt: string | null }> },
): Promise<Pick<ErasureCounts, "events" | "deliveries" | "quarantine" | "ledgerRows" | "mediaObjects">> {
	if (messageIds.length === 0) return { events: 0, deliveries: 0, quarantine: 0, ledgerRows: 0, mediaObjects: 0 };
	// First: no copy still in flight may bring these messages back to D1 once they are gone.
	await tombstoneMessages(env.DB, messageIds, new Date().toISOString()).run();
	budget.spend(1);
	// Media copies can outlive the ledger's memory (MEDIA_RETENTION_DAYS): asked for every message.
	const mediaObjects = await eraseMedia(env, messageIds);
	budget.spend(messageIds.length);
	const eventIds = (options.knownEvents ?? []).map((event) => event.id);
	let ledgerRows = 0;
	let heldQuarantine = 0;
	if (options.ledgers) {
		const byLedger = new Map<string, string[]>();
		for (const messageId of messageIds) {
			const name = ledgerNameOf(env, messageId);
			byLedger.set(name, [...(byLedger.get(name) ?? []), messageId]);
		}
		const groups = [...byLedger];
		for (let start = 0; start < groups.length; start += PARALLEL) {
			const slice = groups.slice(start, start + PARALLEL);
			// Their first tries first, while the ledgers still hold the events and when they came: a
			// call failing once the ledgers let go could not file them again (fault simulation, 24006).
			const held = await settleAll(slice.map(([name, ids]) => ledgerNamed(env, name).accepted(...ids)));
			const firstTries = await eraseFirstTries(env.DB, acceptedFiles(held.flat()));
			budget.spend(slice.length + firstTries.statements);
			const erased: MessagesErased[] = await settleAll(
				slice.map(([name, ids]) => ledgerNamed(env, name).erase(...ids)),
			);
			for (const result of erased) {
				ledgerRows += result.rows;
				heldQuarantine += result.quarantine;
				eventIds.push(...result.eventIds);
			}
		}
		budget.spend(groups.length);
	}
	const d1 = await eraseMessagesFromD1(env.DB, messageIds, eventIds, options.knownEvents);
	budget.spend(d1.statements);
	return {
		events: d1.events,
		deliveries: d1.deliveries,
		quarantine: d1.quarantine + heldQuarantine,
		ledgerRows,
		mediaObjects,
	};
}
