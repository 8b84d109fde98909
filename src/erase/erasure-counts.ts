import * as v from "valibot";

const Count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));

/** What one erasure call removed, per store (README "Erasure"). */
export const ErasureCountsSchema = v.strictObject({
	/** D1 `events` rows. */
	events: Count,
	/** D1 `deliveries` rows of those events. */
	deliveries: Count,
	/** Quarantined elements: D1 `quarantine` rows, and those a ledger held while D1 refused them. */
	quarantine: Count,
	/** Events the ledgers still remembered (their outbox entries go with them). */
	ledgerRows: Count,
	/** Archive objects rewritten without the erased lines, or removed when none was left. */
	archiveObjectsRewritten: Count,
	/** Lines (CloudEvents) taken out of archive objects. */
	archiveEvents: Count,
	/** Inbound MMS media copies deleted from R2 `MEDIA`. */
	mediaObjects: Count,
});
export type ErasureCounts = v.InferOutput<typeof ErasureCountsSchema>;

/** What an erasure call answers: its counts, and whether it is done. */
export const ErasureReportSchema = v.strictObject({
	...ErasureCountsSchema.entries,
	/** False when the call ran out of budget: call again with `cursor`. */
	complete: v.boolean(),
	cursor: v.nullable(v.string()),
});
export type ErasureReport = v.InferOutput<typeof ErasureReportSchema>;

export type ErasureResult = { ok: true; value: ErasureReport } | { ok: false; reason: "invalid_cursor" };

export const COUNT_KEYS = Object.keys(ErasureCountsSchema.entries) as Array<keyof ErasureCounts>;

export function noCounts(): ErasureCounts {
	return {
		events: 0,
		deliveries: 0,
		quarantine: 0,
		ledgerRows: 0,
		archiveObjectsRewritten: 0,
		archiveEvents: 0,
		mediaObjects: 0,
	};
}

export function addCounts(a: ErasureCounts, b: Partial<ErasureCounts>): ErasureCounts {
	const sum = { ...a };
	for (const key of COUNT_KEYS) sum[key] += b[key] ?? 0;
	return sum;
}
