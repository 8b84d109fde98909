import { copyOut } from "./copy-out";
import type { LedgerStore } from "./ledger-store";

const DRAIN_MAX_ROWS = 50;
/** Bounds the memory of one pass, whatever the size of the texts. */
const DRAIN_MAX_CHARS = 4 * 1024 * 1024;

/** The ledger's own drain: copies pending rows out, oldest first, until none is left. */
export async function drainOutbox(store: LedgerStore, env: Pick<Env, "DB" | "FORWARD_QUEUE">): Promise<void> {
	for (;;) {
		const rows = store.pending(DRAIN_MAX_ROWS, DRAIN_MAX_CHARS);
		if (rows.length === 0) return;
		await copyOut(env, rows, (queued) => store.markDrained(queued.map((row) => row.sequence)));
	}
}
