import type { HoldReason } from "./gate-rpc";

/*
 * Events a gate held back for its rate or concurrency limit: they wait in the queue for a few
 * seconds and come back through the gate, which counts them meanwhile (one row per event, its
 * latest hold). A pause's and a breaker's are parked instead (src/destinations/parked-jobs.ts).
 */

export const HELD_SCHEMA =
	"CREATE TABLE IF NOT EXISTS held (event_id TEXT PRIMARY KEY, since INTEGER NOT NULL) WITHOUT ROWID;";

const PRUNE_EVERY_MS = 60_000;
/** Longer than any hold in the queue: a rate limit's, or a parked job's that could not be parked. */
const HELD_FORGET_MS = 30 * 60_000;

type Exec = (query: string, ...bindings: SqlStorageValue[]) => Record<string, SqlStorageValue>[];

export class HeldRows {
	constructor(readonly exec: Exec) {
		try {
			// Gates from before a held row kept its reason.
			exec("ALTER TABLE held ADD COLUMN reason TEXT");
		} catch {
			// Already there.
		}
	}

	/** `since`: the latest hold, so a row whose event went out without the gate ages away. */
	hold(ids: readonly string[], now: number, reason: HoldReason): void {
		for (const id of ids) {
			this.exec(
				`INSERT INTO held (event_id, since, reason) VALUES (?, ?, ?)
				 ON CONFLICT (event_id) DO UPDATE SET since = excluded.since, reason = excluded.reason`,
				id,
				now,
				reason,
			);
		}
	}

	/** A key lookup per id: nothing is scanned, however large the backlog. */
	release(ids: readonly string[]): void {
		if (ids.length === 0) return;
		this.exec("DELETE FROM held WHERE event_id IN (SELECT value FROM json_each(?))", JSON.stringify(ids));
	}

	/**
	 * Held rows not held again for HELD_FORGET_MS: their events went out some other way (a gate
	 * that timed out after writing, a destination removed and restored), or a rate-limited one is
	 * about to come back and be held again. At most once a minute (`prunedAt`), so it never runs per event.
	 */
	prune(now: number, prunedAt: number): number {
		if (now - prunedAt < PRUNE_EVERY_MS) return prunedAt;
		this.exec("DELETE FROM held WHERE since < ?", now - HELD_FORGET_MS);
		return now;
	}

	/** Only for status: a count reads every row. */
	tally(): { held: number; since: number | null } {
		const row = this.exec("SELECT count(*) AS n, min(since) AS since FROM held")[0];
		return { held: Number(row?.n ?? 0), since: row?.since == null ? null : Number(row.since) };
	}

	locate(ids: readonly string[]): Map<string, { reason: HoldReason; since: number }> {
		const rows = this.exec(
			"SELECT event_id, since, reason FROM held WHERE event_id IN (SELECT value FROM json_each(?))",
			JSON.stringify(ids),
		);
		return new Map(
			rows.map((row) => [
				row.event_id as string,
				{ reason: ((row.reason as HoldReason | null) ?? "rate") as HoldReason, since: row.since as number },
			]),
		);
	}
}
