import type { EventRow } from "../db/events.repository";
import { errorMessage, log } from "../log";
import { MeteredStorage } from "../meter/metered-storage";
import { sendToQueue, storeInD1 } from "./copy-out";

const RETRY_MS = 60_000;

/*
 * Before ledger buckets, each message had its own ledger object with one `events` table. Such an
 * object is never addressed again (buckets have other names), but its alarm still fires: it copies
 * out what it never drained, then deletes itself. Its memory of ids goes with it, so a Bandwidth
 * retry of an event accepted in the 24 h before the upgrade can be forwarded a second time, with
 * the same webhook-id.
 */

/** The table only a per-message ledger from before buckets has. */
export const LEGACY_LEDGER_TABLE = "events";

export async function drainLegacyLedger(
	ctx: DurableObjectState,
	env: Pick<Env, "DB" | "FORWARD_QUEUE">,
): Promise<void> {
	const storage = new MeteredStorage(ctx.storage);
	const rows = storage.all<EventRow & Record<string, SqlStorageValue>>(
		`SELECT id, message_id, sequence, type, direction, recipient, from_number, owner, application_id, error_code,
		   event_time, received_at, status, status_rank, normalized_json
		 FROM events WHERE normalized_json IS NOT NULL ORDER BY sequence`,
	);
	const [sent, stored] = [await sendToQueue(env.FORWARD_QUEUE, rows), await storeInD1(env.DB, rows)];
	if (sent.error !== null || stored.error !== null) {
		log.error("legacy_ledger_drain_failed", { rows: rows.length, error: sent.error ?? stored.error });
		await storage.setAlarm(Date.now() + RETRY_MS);
		return;
	}
	try {
		await storage.deleteAll(["events"]);
	} catch (error) {
		log.error("legacy_ledger_delete_failed", { error: errorMessage(error) });
	}
}
