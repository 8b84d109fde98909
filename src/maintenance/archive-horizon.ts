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
