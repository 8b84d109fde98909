import { HOUR_MS, hourOf } from "../ledger/partitions";
import { errorMessage, log } from "../log";
import { MINUTE_MS } from "./record-insights";

/** Hourly rollups are kept this long (the promise; ARCHIVE_RETENTION_DAYS's default too). */
export const INSIGHT_RETENTION_DAYS = 400;
/** The alerts read the last 15 minutes; two hours leave room for a late or overlapping run. */
const MINUTES_KEPT = 120;
/** Rows per table per run: an hour's rollups are one row per application and number. */
const CHUNK_ROWS = 1000;

export interface InsightsPurged {
	hours: number;
	errors: number;
	minutes: number;
	minuteErrors: number;
}

/**
 * Deletes rollups older than 400 days and alert-window minutes older than two hours, a bounded
 * chunk each. Never throws: what is left goes next minute, and the byte budget after it still runs.
 */
export async function purgeInsights(db: D1Database, now: number): Promise<InsightsPurged | null> {
	try {
		return await purge(db, now);
	} catch (error) {
		log.error("insights_purge_failed", { error: errorMessage(error) });
		return null;
	}
}

async function purge(db: D1Database, now: number): Promise<InsightsPurged> {
	const hour = hourOf(now - INSIGHT_RETENTION_DAYS * 24 * HOUR_MS);
	const minute = Math.floor(now / MINUTE_MS) - MINUTES_KEPT;
	const results = await db.batch([
		db
			.prepare(
				`DELETE FROM insight_hours WHERE (hour, application_id, owner) IN
				 (SELECT hour, application_id, owner FROM insight_hours WHERE hour < ?1 LIMIT ?2)`,
			)
			.bind(hour, CHUNK_ROWS),
		db
			.prepare(
				`DELETE FROM insight_errors WHERE (hour, application_id, owner, code) IN
				 (SELECT hour, application_id, owner, code FROM insight_errors WHERE hour < ?1 LIMIT ?2)`,
			)
			.bind(hour, CHUNK_ROWS),
		db
			.prepare(
				`DELETE FROM insight_minutes WHERE (minute, application_id, owner) IN
				 (SELECT minute, application_id, owner FROM insight_minutes WHERE minute < ?1 LIMIT ?2)`,
			)
			.bind(minute, CHUNK_ROWS),
		db
			.prepare(
				`DELETE FROM insight_minute_errors WHERE (minute, application_id, owner, code) IN
				 (SELECT minute, application_id, owner, code FROM insight_minute_errors WHERE minute < ?1 LIMIT ?2)`,
			)
			.bind(minute, CHUNK_ROWS),
	]);
	const [hours, errors, minutes, minuteErrors] = results.map((result) => result.meta.changes ?? 0);
	const purged = { hours: hours ?? 0, errors: errors ?? 0, minutes: minutes ?? 0, minuteErrors: minuteErrors ?? 0 };
	if (purged.hours + purged.errors > 0) log.info("insights_purged", { before: hour, ...purged });
	return purged;
}
