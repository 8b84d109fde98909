import { log } from "../log";
import { settleAll } from "../settle-all";

/** Copiers called at once: a Worker lets six connections wait for headers. */
const PARALLEL = 6;

/**
 * Erasure of messages (src/erase) takes their media copies too: each message's copier deletes its
 * R2 objects and its state, and keeps a tombstone so a forward still queued cannot copy them again.
 * Throws if a copier cannot be reached: the erasure call fails and is repeated, as for a ledger.
 */
export async function eraseMedia(
	env: Partial<Pick<Env, "MEDIA_COPIER">>,
	messageIds: readonly string[],
): Promise<number> {
	const copiers = env.MEDIA_COPIER;
	if (copiers === undefined) return 0;
	let objects = 0;
	for (let start = 0; start < messageIds.length; start += PARALLEL) {
		const removed = await settleAll(
			messageIds.slice(start, start + PARALLEL).map((id) => copiers.getByName(id).erase()),
		);
		objects += removed.reduce((sum, n) => sum + n, 0);
	}
	if (objects > 0) log.info("media_erased", { messages: messageIds.length, objects });
	return objects;
}
