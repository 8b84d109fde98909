import { readRetentionConfig } from "../config";
import { deleteDeliveriesBefore } from "../db/deliveries.repository";
import { deleteEventsReceivedBefore } from "../db/events.repository";
import { deleteResolvedBefore } from "../db/quarantine.repository";
import { log } from "../log";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface PurgeLimits {
	/** Rows per DELETE: small enough that one statement never holds D1's single writer for long. */
	chunkRows: number;
	/** D1 round trips per run, each one chunk per table: keeps a run inside a Worker's query limits. */
	maxRounds: number;
}

/**
 * Up to 100,000 rows per table per run, every 10 minutes: keeps pace with ~160 events/s sustained
 * (docs/capacity.md). 100 rounds of at most 3 statements stay under D1's 1,000 queries per
 * invocation; a larger backlog takes several runs, never one long one.
 */
export const DEFAULT_PURGE_LIMITS: PurgeLimits = { chunkRows: 1000, maxRounds: 100 };

const TABLES = {
	events: deleteEventsReceivedBefore,
	deliveries: deleteDeliveriesBefore,
	quarantine: deleteResolvedBefore,
} satisfies Record<string, (db: D1Database, cutoff: string, limit: number) => D1PreparedStatement>;

type Table = keyof typeof TABLES;

export interface PurgeReport {
	cutoff: string;
	deleted: Record<Table, number>;
	rounds: number;
	/** False when the round limit stopped the run with expired rows left for the next one. */
	complete: boolean;
}

/**
 * Deletes rows older than `cutoff` in chunks. Each round deletes one chunk from every table that
 * still has expired rows, so a large events backlog cannot starve the other tables.
 */
export async function purgeExpired(
	db: D1Database,
	cutoff: string,
	limits: PurgeLimits = DEFAULT_PURGE_LIMITS,
): Promise<PurgeReport> {
	const deleted: Record<Table, number> = { events: 0, deliveries: 0, quarantine: 0 };
	let pending = Object.keys(TABLES) as Table[];
	let rounds = 0;
	while (pending.length > 0 && rounds < limits.maxRounds) {
		const results = await db.batch(pending.map((table) => TABLES[table](db, cutoff, limits.chunkRows)));
		rounds += 1;
		pending = pending.filter((table, index) => {
			const changes = results[index]?.meta.changes ?? 0;
			deleted[table] += changes;
			return changes >= limits.chunkRows;
		});
	}
	return { cutoff, deleted, rounds, complete: pending.length === 0 };
}

/** The cron trigger: `now` is the controller's scheduled time, so tests control the clock. */
export async function purgeRetention(env: Pick<Env, "DB" | "RETENTION_DAYS">, now: number): Promise<void> {
	const config = readRetentionConfig(env);
	if (!config.ok) {
		log.error("config_invalid", { message: config.message });
		return;
	}
	const cutoff = new Date(now - config.value.retentionDays * DAY_MS).toISOString();
	const report = await purgeExpired(env.DB, cutoff);
	log.info("retention_purged", { ...report });
}
