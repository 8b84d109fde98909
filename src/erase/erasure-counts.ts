/** What one erasure call removed, per store (README "Erasure"). */
export interface ErasureCounts {
	/** D1 `events` rows. */
	events: number;
	/** D1 `deliveries` rows of those events. */
	deliveries: number;
	/** D1 `quarantine` rows. */
	quarantine: number;
	/** Events the ledgers still remembered (their outbox entries go with them). */
	ledgerRows: number;
	/** Archive objects rewritten without the erased lines, or removed when none was left. */
	archiveObjectsRewritten: number;
	/** Lines (CloudEvents) taken out of archive objects. */
	archiveEvents: number;
}

export interface ErasureReport extends ErasureCounts {
	/** False when the call ran out of budget: call again with `cursor`. */
	complete: boolean;
	cursor: string | null;
}

export type ErasureResult = { ok: true; value: ErasureReport } | { ok: false; reason: "invalid_cursor" };

export const COUNT_KEYS = [
	"events",
	"deliveries",
	"quarantine",
	"ledgerRows",
	"archiveObjectsRewritten",
	"archiveEvents",
] as const satisfies readonly (keyof ErasureCounts)[];

export function noCounts(): ErasureCounts {
	return { events: 0, deliveries: 0, quarantine: 0, ledgerRows: 0, archiveObjectsRewritten: 0, archiveEvents: 0 };
}

export function addCounts(a: ErasureCounts, b: Partial<ErasureCounts>): ErasureCounts {
	const sum = { ...a };
	for (const key of COUNT_KEYS) sum[key] += b[key] ?? 0;
	return sum;
}
