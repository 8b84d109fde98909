import { log } from "../log";
import type { ErasureCounts } from "./erasure-counts";
import type { ErasureKind } from "./erasure-subject";

/**
 * The audit trail of an erasure: `erasure_completed` once nothing is left, with the totals of all
 * its calls; `erasure_continues` for a call that answered a cursor. The subject is a keyed hash
 * (erasureSubject), never the number or the message id.
 */
export function logErasure(
	kind: ErasureKind,
	subject: string,
	complete: boolean,
	counts: ErasureCounts,
	totals: ErasureCounts,
): void {
	if (complete) log.info("erasure_completed", { kind, subject, ...totals });
	else log.info("erasure_continues", { kind, subject, ...counts });
}
