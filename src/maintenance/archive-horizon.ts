import { toUtcIso } from "../bandwidth/timestamp";
import { log } from "../log";

/** Before this instant nothing is archived: the bound that keeps every row when the given one is unusable. */
const NOTHING_ARCHIVED = new Date(0).toISOString();

/**
 * `archivedBefore` in the form the D1 time columns sort by. The comparisons are on text, so
 * "…T04:00:00Z" would sort after "…T04:00:00.123Z" and let an unarchived row go; a value that is
 * not a time at all keeps every row rather than none.
 */
export function archiveHorizon(archivedBefore: string | undefined): string | undefined {
	if (archivedBefore === undefined) return undefined;
	const normalized = toUtcIso(archivedBefore);
	if (normalized !== null) return normalized;
	log.error("archive_horizon_invalid", { archivedBefore });
	return NOTHING_ARCHIVED;
}

/** The earlier of two UTC ISO times (undefined: no bound). */
export function earliest(a: string, b: string | undefined): string {
	return b !== undefined && b < a ? b : a;
}

/**
 * How far before a ledger's report an event's receipt must be for the report to cover it: the
 * Worker stamps `received_at` before it calls the ledger, within one callback's run.
 */
export const RECEIPT_TO_ACCEPT_MS = 60_000;

/** What the ledgers and the archive allow out of D1 (src/maintenance/run-maintenance.ts). */
export interface RemovalBounds {
	/** Every event received before this is archived; undefined without ARCHIVE. */
	archivedBefore: string | undefined;
	/**
	 * Every handoff accepted before this is accounted for by its ledger (reported, taken back, or
	 * found in D1); "" when a ledger did not answer. Undefined: no ledger reported (a test, or a
	 * caller with no ledgers to ask).
	 */
	verifiedBefore?: string | undefined;
}

/**
 * Events received before the answer may leave D1: archived when there is an archive, and never one
 * whose ledger may still look for it in D1 (an event missing there is one the Worker died before
 * storing, and would be sent again).
 */
export function removableBefore(bounds: RemovalBounds): string | undefined {
	const archived = archiveHorizon(bounds.archivedBefore);
	if (bounds.verifiedBefore === undefined) return archived;
	const parsed = Date.parse(bounds.verifiedBefore);
	const verified = Number.isNaN(parsed) ? NOTHING_ARCHIVED : new Date(parsed - RECEIPT_TO_ACCEPT_MS).toISOString();
	return archived === undefined ? verified : earliest(archived, verified);
}
