import type { EventRow } from "../../db/events.repository";
import type { Hour } from "../partitions";

/** What the Worker hands a ledger: a D1 row waiting for its sequence. */
export type LedgerEntry = Omit<EventRow, "sequence"> & {
	/**
	 * The row's body compressed as the ledger stores it (packBody in ./ledger-body.ts). The Worker
	 * compresses, so the ledger's transaction never waits; without it (a caller that did not) the
	 * ledger stores the same body as text.
	 */
	packed?: Uint8Array<ArrayBuffer>;
};

/**
 * Where a row has been copied. Forwarding and D1 are tracked apart, each with its own backoff, so
 * that a D1 outage (or a full D1) never holds back a delivery.
 */
export const COPIED = { queue: 1, d1: 2, all: 3 } as const;

/** An event as the ledger holds it: its D1 row, the table it lives in, and where it has been copied. */
export interface LedgerRow extends EventRow {
	partition: string;
	hour: Hour;
	copied: number;
}

/** What a Worker or the drain reports for one row: the copies it made. */
export interface CopyReport {
	partition: string;
	messageId: string;
	id: string;
	copied: number;
}

/** A row for the outbox: where it lives, and the copies it still needs. */
export type OutboxKey = Pick<CopyReport, "partition" | "messageId" | "id"> & { missing: number };

/** What an erasure took out of a ledger. */
export interface MessagesErased {
	/** Events deleted from the day tables. */
	rows: number;
	/** Outbox entries deleted with them. */
	outbox: number;
	/** Quarantined elements of these messages the ledger held for D1. */
	quarantine: number;
	eventIds: string[];
	/** The archive hours those events were filed under. */
	hours: Hour[];
}

export function reportKey(row: LedgerRow): Pick<CopyReport, "partition" | "messageId" | "id"> {
	return { partition: row.partition, messageId: row.message_id, id: row.id };
}
