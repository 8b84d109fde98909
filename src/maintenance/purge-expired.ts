import { effectiveRetentionDays, readRetentionConfig } from "../config";
import { deleteDeliveriesBefore, deleteDeliveryCountsBefore } from "../db/deliveries.repository";
import { deleteOldestEvents } from "../db/events.repository";
import { deleteQuarantineBefore } from "../db/quarantine.repository";
import { purgeInsights } from "../insights/purge-insights";
import { log } from "../log";
import { archiveHorizon, earliest } from "./archive-horizon";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface PurgeLimits {
	/** Rows per DELETE: small enough that one statement never holds D1's single writer for long. */
	chunkRows: number;
	/** D1 round trips per run, each one chunk per table: keeps a run inside a Worker's query limits. */
	maxRounds: number;
}

/**
 * Up to 100,000 rows per table per run, every minute: keeps pace with ~1,600 events/s sustained
 * (docs/capacity.md). 100 rounds of at most 5 statements (events take two: their deliveries go
 * with them) stay under D1's 1,000 queries per invocation, with room for the byte budget's rounds;
 * a larger backlog takes several runs, never one long one.
 */
export const DEFAULT_PURGE_LIMITS: PurgeLimits = { chunkRows: 1000, maxRounds: 100 };

const TABLES = ["events", "deliveries", "deliveryCounts", "quarantine"] as const;
type Table = (typeof TABLES)[number];

export interface PurgeBounds {
	/**
	 * Rows older than this go: events by their own time and receipt, deliveries by `at`, counts by
	 * hour, quarantine rows by receipt (reprocessed or not).
	 */
	cutoff: string;
	/** Events received from this time on are not in the archive yet and stay (undefined: no archive). */
	archivedBefore: string | undefined;
}

export interface PurgeReport {
	cutoff: string;
	/** Events went only before this: the cutoff, or the archive's progress where that is earlier. */
	eventsBefore: string;
	/** `deliveries` counts the rows deleted with their events too. */
	deleted: Record<Table, number>;
	rounds: number;
	/** False when the round limit stopped the run with expired rows left for the next one. */
	complete: boolean;
}

/** One table's chunk, each statement paired with the table its changes count for; the last is the table's own. */
type Chunk = Array<readonly [counts: Table, statement: D1PreparedStatement]>;

function chunkOf(db: D1Database, table: Table, cutoff: string, eventsBefore: string, limit: number): Chunk {
	switch (table) {
		case "events": {
			const chunk = deleteOldestEvents(db, eventsBefore, limit);
			return [
				["deliveries", chunk.deliveries],
				["events", chunk.events],
			];
		}
		case "deliveries":
			return [["deliveries", deleteDeliveriesBefore(db, cutoff, limit)]];
		case "deliveryCounts":
			return [["deliveryCounts", deleteDeliveryCountsBefore(db, cutoff, limit)]];
		case "quarantine":
			return [["quarantine", deleteQuarantineBefore(db, cutoff, limit)]];
	}
}

/**
 * Deletes rows older than the cutoff in chunks, and never an event the archive does not hold yet.
 * Each round deletes one chunk from every table that still has expired rows, so a large events
 * backlog cannot starve the other tables.
 */
export async function purgeExpired(
	db: D1Database,
	bounds: PurgeBounds,
	limits: PurgeLimits = DEFAULT_PURGE_LIMITS,
): Promise<PurgeReport> {
	const eventsBefore = earliest(bounds.cutoff, bounds.archivedBefore);
	const deleted: Record<Table, number> = { events: 0, deliveries: 0, deliveryCounts: 0, quarantine: 0 };
	let pending: readonly Table[] = TABLES;
	let rounds = 0;
	while (pending.length > 0 && rounds < limits.maxRounds) {
		const chunks = pending.map((table) => ({
			table,
			parts: chunkOf(db, table, bounds.cutoff, eventsBefore, limits.chunkRows),
		}));
		const results = await db.batch(chunks.flatMap(({ parts }) => parts.map(([, statement]) => statement)));
		rounds += 1;
		let index = 0;
		const next: Table[] = [];
		for (const { table, parts } of chunks) {
			let own = 0;
			for (const [counts] of parts) {
				own = results[index++]?.meta.changes ?? 0;
				deleted[counts] += own;
			}
			if (own >= limits.chunkRows) next.push(table);
		}
		pending = next;
	}
	return { cutoff: bounds.cutoff, eventsBefore, deleted, rounds, complete: pending.length === 0 };
}

export type RetentionPurgeResult = { ok: true; value: PurgeReport } | { ok: false; reason: "config_invalid" };

/**
 * The cron's retention step. `now` is the controller's scheduled time, so tests control the clock;
 * `archivedBefore` is how far the archive has got (undefined when there is no archive). With an
 * invalid RETENTION_DAYS nothing is deleted: a guessed period could delete what the operator meant
 * to keep, and the byte budget still protects D1 meanwhile.
 */
export async function purgeRetention(
	env: Pick<Env, "DB" | "RETENTION_DAYS" | "FORWARD_RETRY_SCHEDULE">,
	now: number,
	archivedBefore: string | undefined,
): Promise<RetentionPurgeResult> {
	const config = readRetentionConfig(env);
	if (!config.ok) {
		log.error("config_invalid", { message: config.message });
		return { ok: false, reason: "config_invalid" };
	}
	const days = effectiveRetentionDays(env, config.value.retentionDays);
	const cutoff = new Date(now - days * DAY_MS).toISOString();
	const report = await purgeExpired(env.DB, { cutoff, archivedBefore: archiveHorizon(archivedBefore) });
	log.info("retention_purged", { ...report });
	// The insight rollups have their own period (400 days), whatever RETENTION_DAYS says.
	await purgeInsights(env.DB, now);
	return { ok: true, value: report };
}
