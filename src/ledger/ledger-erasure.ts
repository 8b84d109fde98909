import { messageIdOfQuarantined } from "../db/quarantine.repository";
import { eventInvolves, quarantineNeedles } from "../erase/number-match";
import type { Handoffs } from "./handoffs";
import type { DayTables } from "./store/day-tables";
import type { MessagesErased } from "./store/ledger-rows";
import type { LedgerSql } from "./store/ledger-sql";
import type { Outbox } from "./store/outbox";
import type { QuarantineHold } from "./store/quarantine-hold";

/**
 * A ledger's part of an erasure (src/erase): every event of the messages, in every day table and
 * the outbox, the quarantined elements of them it holds, and the handoffs it was waiting on. Their
 * ids go too: a Bandwidth retry of an erased event is accepted again as new.
 */
export class LedgerErasure {
	constructor(
		private readonly parts: {
			db: LedgerSql;
			days: DayTables;
			outbox: Outbox;
			quarantine: QuarantineHold;
			handoffs: Handoffs;
		},
	) {}

	/** Deletes the messages' rows in one transaction. */
	messages(messageIds: readonly string[]): MessagesErased {
		const { db, days, outbox, quarantine, handoffs } = this.parts;
		const erased = db.transaction((): MessagesErased => {
			const deleted = messageIds.flatMap((messageId) => days.erase(messageId));
			const entries = messageIds.reduce((sum, messageId) => sum + outbox.erase(messageId), 0);
			const ids = new Set(messageIds);
			const held = quarantine.erase((rawJson) => ids.has(messageIdOfQuarantined(rawJson) ?? ""));
			return {
				rows: deleted.length,
				outbox: entries,
				quarantine: held,
				eventIds: deleted.map((row) => row.id),
				hours: [...new Set(deleted.map((row) => row.hour))].sort(),
			};
		});
		handoffs.erased(messageIds);
		return erased;
	}

	/**
	 * The events of these messages and when each was accepted, read and left in place: an erasure
	 * takes their first tries (filed by receipt time, src/db/attempts.repository.ts) before
	 * messages() lets go of them, so that a call failing in between finds them again when it is
	 * repeated (found by the fault simulation, seed 24006).
	 */
	accepted(messageIds: readonly string[]): Array<{ id: string; acceptedAt: number }> {
		return messageIds.flatMap((messageId) => this.parts.days.acceptedOf(messageId));
	}

	/**
	 * For an erasure by phone number, what D1 may not hold yet: the messages of rows still in the
	 * outbox or handed off and unaccounted for (a Worker may be writing them to D1 now) whose event
	 * names the number, as sender, owner, recipient or anywhere in message.to. Reads only those rows,
	 * decoded one by one: few, and rare but for an outage.
	 */
	async pendingMessagesNaming(phoneNumber: string): Promise<string[]> {
		const { days, outbox, handoffs } = this.parts;
		const involved = new Set<string>();
		for (const key of [...outbox.keys(), ...handoffs.keys()]) {
			if (involved.has(key.messageId)) continue;
			const row = await days.get(key.partition, key.messageId, key.id);
			if (row !== null && eventInvolves(row.normalized_json, phoneNumber)) involved.add(key.messageId);
		}
		return [...involved];
	}

	/** The quarantined elements held here that mention the number anywhere (as D1's quarantine step matches them). */
	heldQuarantineNaming(phoneNumber: string): number {
		const needles = quarantineNeedles(phoneNumber);
		return this.parts.db.transaction(() =>
			this.parts.quarantine.erase((rawJson) => needles.some((needle) => rawJson.includes(needle))),
		);
	}
}
