import { errorMessage, log } from "../log";
import { copyOut } from "./copy-out";
import { ledgerFor } from "./ledger-client";
import { HANDOFF_COPY_WINDOW_MS, type Handoff } from "./message-ledger.do";

/**
 * The fast path of the outbox: right after the 200, the Worker that delivered a callback copies
 * the rows its ledgers handed back to D1 and the queue — one D1 batch and one queue send for the
 * whole callback instead of one per message — then tells each ledger what went out. Whatever did
 * not is released to the ledger's own drain, and a Worker that never reports is covered by the
 * ledger reclaiming its rows after a grace period.
 */
export async function drainHandoffs(
	env: Pick<Env, "DB" | "FORWARD_QUEUE" | "MESSAGE_LEDGER">,
	handoffs: readonly Handoff[],
): Promise<void> {
	if (handoffs.length === 0) return;
	const queued = new Set<string>();
	const deadline = Math.min(...handoffs.map((handoff) => handoff.handedOffAt)) + HANDOFF_COPY_WINDOW_MS;
	try {
		await copyOut(
			env,
			handoffs.flatMap((handoff) => handoff.rows),
			(rows) => {
				for (const row of rows) queued.add(row.id);
			},
			deadline,
		);
	} catch (error) {
		log.warn("handoff_copy_failed", { events: handoffs.length, queued: queued.size, error: errorMessage(error) });
	}
	const reports = await Promise.allSettled(
		handoffs.map((handoff) => {
			const drained = handoff.rows.filter((row) => queued.has(row.id)).map((row) => row.sequence);
			const released = handoff.rows.filter((row) => !queued.has(row.id)).map((row) => row.sequence);
			return ledgerFor(env, handoff.messageId).settleHandoff(drained, released);
		}),
	);
	for (const [index, report] of reports.entries()) {
		if (report.status === "rejected") {
			// The ledger reclaims the rows itself once the grace period is over.
			log.warn("handoff_report_failed", { messageId: handoffs[index]?.messageId, error: errorMessage(report.reason) });
		}
	}
}
