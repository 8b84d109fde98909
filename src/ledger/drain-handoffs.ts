import { errorMessage, log } from "../log";
import { within } from "../within";
import { type CopyResult, sendToQueue, storeInD1 } from "./copy-out";
import { ledgerNamed } from "./ledger-client";
import type { Handoff } from "./ledger-rpc";
import { HANDOFF_COPY_WINDOW_MS } from "./message-ledger.do";
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
 * rows its ledgers handed back to the forward queue, then writes them to D1 — one send and one D1
 * batch for the whole callback — and tells each ledger which copies it made. The queue goes first
 * and neither waits on the other: D1 refusing writes costs the history a delay, never a delivery.
 * Whatever did not go is the ledger's to copy; a Worker that never reports is covered by the
 * ledger taking its rows back after a grace period.
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
	const toD1 = rowsFor(COPIED.d1);
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
	const reports = await Promise.allSettled(
		handoffs.map((handoff) =>
			ledgerNamed(env, handoff.ledger).settle(
				handoff.rows.map((row) => ({
					partition: row.partition,
					messageId: row.message_id,
					id: row.id,
					copied: (queued.done.has(row.id) ? COPIED.queue : 0) | (stored.done.has(row.id) ? COPIED.d1 : 0),
				})),
			),
		),
	);
	for (const [index, report] of reports.entries()) {
		if (report.status === "rejected") {
			// The ledger takes the rows back itself at its next maintenance.
			log.warn("handoff_report_failed", { ledger: handoffs[index]?.ledger, error: errorMessage(report.reason) });
		}
	}
}
