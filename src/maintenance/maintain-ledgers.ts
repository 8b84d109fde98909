import { type InsightMarks, visitFor } from "../insights/record-insights";
import { allLedgerNames, ledgerNamed } from "../ledger/ledger-client";
import type { MaintainReport } from "../ledger/ledger-rpc";
import { hourStart } from "../ledger/partitions";
import { errorMessage, log } from "../log";

/** Durable Object calls in flight at once: a Worker lets six connections wait for headers. */
const PARALLEL = 6;

export interface LedgersMaintained {
	/**
	 * Every D1 event received before this instant is in the archive: the oldest hour any ledger
	 * has yet to write. "" (nothing may leave D1) when a ledger did not answer; undefined without
	 * ARCHIVE (history is then bounded by D1 alone).
	 */
	archivedBefore: string | undefined;
	/**
	 * Every handoff accepted before this instant is accounted for by its ledger (reported, taken
	 * back, or found in D1): the oldest any ledger still checks. "" when a ledger did not answer.
	 */
	verifiedBefore: string;
	reports: MaintainReport[];
	failed: number;
}

/**
 * Visits every ledger bucket once: check handoffs, archive, forget (MessageLedger.maintain); with
 * the insight marks, each ledger also hands over its insight counts (src/insights/record-insights.ts).
 */
export async function maintainLedgers(
	env: Pick<Env, "MESSAGE_LEDGER" | "ARCHIVE" | "LEDGER_BUCKETS">,
	now: number,
	insights?: InsightMarks | null,
): Promise<LedgersMaintained> {
	const names = allLedgerNames(env);
	const reports: MaintainReport[] = [];
	let failed = 0;
	for (let start = 0; start < names.length; start += PARALLEL) {
		const results = await Promise.allSettled(
			names
				.slice(start, start + PARALLEL)
				.map((name) => ledgerNamed(env, name).maintain(now, visitFor(insights, name))),
		);
		for (const [index, result] of results.entries()) {
			if (result.status === "fulfilled") reports.push(result.value);
			else {
				failed += 1;
				log.error("ledger_maintenance_failed", { ledger: names[start + index], error: errorMessage(result.reason) });
			}
		}
	}
	return {
		archivedBefore: archivedBefore(env, reports, failed),
		verifiedBefore: verifiedBefore(reports, failed, now),
		reports,
		failed,
	};
}

function verifiedBefore(reports: readonly MaintainReport[], failed: number, now: number): string {
	if (failed > 0) return "";
	const oldest = Math.min(now, ...reports.map((report) => report.verifiedBefore));
	return new Date(oldest).toISOString();
}

function archivedBefore(
	env: Pick<Env, "ARCHIVE">,
	reports: readonly MaintainReport[],
	failed: number,
): string | undefined {
	if (env.ARCHIVE === undefined) return undefined;
	if (failed > 0) return "";
	let oldest: number | null = null;
	for (const report of reports) {
		if (report.archivedThrough === null) return "";
		const start = hourStart(report.archivedThrough);
		oldest = oldest === null ? start : Math.min(oldest, start);
	}
	return oldest === null ? "" : new Date(oldest).toISOString();
}
