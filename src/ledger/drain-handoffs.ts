import { errorMessage, log } from "../log";
import { within } from "../within";
import { type CopyResult, sendToQueue, storeInD1 } from "./copy-out";
import { HANDOFF_COPY_WINDOW_MS } from "./handoffs";
import { ledgerNamed } from "./ledger-client";
import type { Handoff } from "./ledger-rpc";
import { COPIED } from "./store/ledger-rows";

const NOTHING: CopyResult = { done: new Set(), error: null };
const D1_LATE: CopyResult = { done: new Set(), error: "the D1 write outlasted the copy window; the ledger copies it" };
/**
 * A D1 write still running this long after the copy window is not waited for: the report must
 * reach the ledgers inside waitUntil's ~30 s, or every row already queued would be sent again.
 * The write may still land; the ledger's own copy is then a no-op (D1 ignores a known id).
 */
const D1_WAIT_PAST_WINDOW_MS = 2000;

/**
 * The fast path of the outbox: right after the 200, the Worker that delivered a callback sends the
 * rows its ledgers handed back to the forward queue, then writes to D1 the rows that went — one
 * send and one D1 batch for the whole callback. The queue goes first and never waits on D1: D1
 * refusing writes costs the history a delay, never a delivery.
 *
 * A row in D1 is a row that was queued, so when every row of a handoff that asked for both copies
 * was queued and stored, the Worker says nothing: its ledger finds the rows in D1 after a grace
 * (src/ledger/handoffs.ts). Anything less — a failed send or write, a copy window that closed, a
 * handoff for the queue alone — is reported to the ledger, which copies what is missing. A Worker
 * that dies leaves the ledger to find what it stored and copy the rest.
 *
 * `answeredAt` is this Worker's own clock when it answered: the window for starting a copy is
 * measured from it, well inside the ~30 s that waitUntil is given.
 */
export async function drainHandoffs(
	env: Pick<Env, "DB" | "FORWARD_QUEUE" | "MESSAGE_LEDGER">,
	handoffs: readonly Handoff[],
	answeredAt = Date.now(),
): Promise<void> {
	if (handoffs.length === 0) return;
	const deadline = answeredAt + HANDOFF_COPY_WINDOW_MS;
	const rowsFor = (target: number) =>
		handoffs.flatMap((handoff) => ((handoff.targets & target) === 0 ? [] : handoff.rows));
	const toQueue = rowsFor(COPIED.queue);
	const queued = toQueue.length > 0 ? await sendToQueue(env.FORWARD_QUEUE, toQueue, deadline) : NOTHING;
	const toD1 = rowsFor(COPIED.d1).filter((row) => queued.done.has(row.id));
	const stored =
		toD1.length > 0
			? await within(storeInD1(env.DB, toD1, deadline), deadline + D1_WAIT_PAST_WINDOW_MS - Date.now(), () => D1_LATE)
			: NOTHING;
	if (queued.error !== null || stored.error !== null) {
		log.warn("handoff_copy_failed", {
			events: toQueue.length,
			queued: queued.done.size,
			stored: stored.done.size,
			queueError: queued.error,
			d1Error: stored.error,
		});
	}
	const copiedOf = (id: string) => (queued.done.has(id) ? COPIED.queue : 0) | (stored.done.has(id) ? COPIED.d1 : 0);
	// Both copies made of every row: the rows in D1 say so; no request, no row written.
	const toReport = handoffs.filter(
		(handoff) => handoff.targets !== COPIED.all || handoff.rows.some((row) => copiedOf(row.id) !== COPIED.all),
	);
	const reports = await Promise.allSettled(
		toReport.map((handoff) =>
			ledgerNamed(env, handoff.ledger).settle(
				handoff.rows.map((row) => ({
					partition: row.partition,
					messageId: row.message_id,
					id: row.id,
					copied: copiedOf(row.id),
				})),
			),
		),
	);
	for (const [index, report] of reports.entries()) {
		if (report.status === "rejected") {
			// The ledger finds what was stored after its grace, and copies the rest itself.
			log.warn("handoff_report_failed", { ledger: toReport[index]?.ledger, error: errorMessage(report.reason) });
		}
	}
}
