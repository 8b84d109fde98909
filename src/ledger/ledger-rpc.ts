import type { InsightSnapshot } from "../insights/ledger-insights";
import type { Hour } from "./partitions";
import type { LedgerEntry, LedgerRow } from "./store/ledger-rows";

/*
 * What a ledger's RPC methods answer (src/ledger/message-ledger.do.ts): the contract between the
 * Worker, the cron and a ledger bucket.
 */

/** Rows a ledger hands back to the Worker that delivered them, to copy out right after its answer. */
export interface Handoff {
	ledger: string;
	rows: LedgerRow[];
	/**
	 * The copies the ledger expects the Worker to try (COPIED bits): a target backing off is left
	 * out. With both, the Worker stores in D1 only rows it queued and reports only a failure: the
	 * rows the ledger later finds in D1 are accounted for by that alone (src/ledger/handoffs.ts).
	 */
	targets: number;
}

export interface AcceptResult {
	stored: number;
	duplicates: number;
	/** Entries not stored because their message already has MAX_EVENTS_PER_MESSAGE events: quarantine them. */
	refused: LedgerEntry[];
	handoff: Handoff | null;
}

export interface MaintainReport {
	ledger: string;
	/** Every event this ledger accepted before this hour is in the archive; null without ARCHIVE. */
	archivedThrough: Hour | null;
	archivedEvents: number;
	dropped: string[];
	reclaimed: number;
	/** Every handoff this ledger accepted before this time (epoch ms) is accounted for. */
	verifiedBefore: number;
	outbox: number;
	outboxSince: number | null; // when the oldest outbox row was accepted; null: empty
	/** Why archiving stopped short this run (an R2 write failed); null when it did not. */
	archiveError: string | null;
	/** Insight counts not yet written to D1 (src/insights); undefined when the visit brought no mark. */
	insights?: InsightSnapshot[] | undefined;
}
