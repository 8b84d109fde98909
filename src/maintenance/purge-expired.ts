import { effectiveRetentionDays, readRetentionConfig } from "../config";
import { dropAttemptsBefore } from "../db/attempts.repository";
import { deleteDeliveriesBefore } from "../db/deliveries.repository";
import { deleteDeliveriesOfTable, deleteOldestLegacyEvents, dropEventTable } from "../db/event-expiry.repository";
import { eventTableEnd, LEGACY_EVENTS_TABLE, listEventTables } from "../db/event-tables";
import { deleteQuarantineBefore } from "../db/quarantine.repository";
import { purgeTombstones } from "../erase/erasure.repository";
import { purgeInsights } from "../insights/purge-insights";
import { log } from "../log";
import { earliest, type RemovalBounds, removableBefore } from "./archive-horizon";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface PurgeLimits {
	/** Rows per DELETE: small enough that one statement never holds D1's single writer for long. */
	chunkRows: number;
	/** D1 round trips per run, each one chunk per table: keeps a run inside a Worker's query limits. */
	maxRounds: number;
}

/**
 * Up to 100,000 rows per table per run, every minute (events go by whole tables, whatever their
 * number). 100 rounds of at most 5 statements (the legacy events take three: their deliveries go
 * with them), and the first tries' list and drop after them, stay under D1's 1,000 queries per
 * invocation, with room for the byte budget's rounds; a larger backlog takes several runs, never
 * one long one.
 */
export const DEFAULT_PURGE_LIMITS: PurgeLimits = { chunkRows: 1000, maxRounds: 100 };

const TABLES = ["events", "deliveries", "quarantine"] as const;
type Table = (typeof TABLES)[number];

export interface PurgeBounds extends RemovalBounds {
	/**
	 * Rows older than this go: events by the quarter they were filed under (their receipt; a table
	 * goes once its whole span is older), deliveries by `at`, quarantine rows by receipt (reprocessed
	 * or not); first tries by their events' day of receipt, once the events' part is done.
	 */
	cutoff: string;
}

export interface PurgeReport {
	cutoff: string;
	/** Events went only before this: the cutoff, or the archive's or the ledgers' progress where earlier. */
	eventsBefore: string;
	/** `deliveries` counts the rows deleted with their events too. */
	deleted: Record<Table, number>;
	/** Days whose first-try table was dropped (src/db/attempts.repository.ts): YYYYMMDD. */
	attemptDaysDropped: string[];
	rounds: number;
	/** False when the round limit stopped the run with expired rows left for the next one. */
	complete: boolean;
}

/** One table's share of a round: its statements, and what to make of their results (true: more to do). */
interface Step {
	statements: D1PreparedStatement[];
	record(results: readonly D1Result[], deleted: Record<Table, number>): boolean;
}

type Counted = { n: number };
type Held = { held: number };

/**
 * The events' part of a run, a step a round: the legacy table a chunk at a time on its index (and
 * dropped once empty), then each event table past the bound — its deliveries rows a chunk at a time,
 * then the table counted and dropped whole.
 */
class EventsPurge {
	readonly #db: D1Database;
	readonly #tables: string[];
	readonly #before: string;
	#deliveriesLeft = true;
	#legacyEmpty = false;

	constructor(db: D1Database, tables: readonly string[], before: string) {
		this.#db = db;
		this.#before = before;
		const end = Date.parse(before);
		this.#tables = tables.filter((name) => {
			const tableEnd = eventTableEnd(name);
			return tableEnd === null || tableEnd <= end;
		});
	}

	step(limit: number): Step | null {
		const table = this.#tables[0];
		if (table === undefined) return null;
		if (table === LEGACY_EVENTS_TABLE) return this.#legacyStep(limit);
		if (this.#deliveriesLeft) {
			return {
				statements: [deleteDeliveriesOfTable(this.#db, table, limit)],
				record: ([result], deleted) => {
					const changes = result?.meta.changes ?? 0;
					deleted.deliveries += changes;
					if (changes < limit) this.#deliveriesLeft = false;
					return true;
				},
			};
		}
		return {
			statements: dropEventTable(this.#db, table),
			record: ([count], deleted) => {
				deleted.events += (count?.results[0] as Counted | undefined)?.n ?? 0;
				this.#next();
				return this.#tables.length > 0;
			},
		};
	}

	#legacyStep(limit: number): Step {
		if (this.#legacyEmpty) {
			return {
				statements: [this.#db.prepare(`DROP TABLE ${LEGACY_EVENTS_TABLE}`)],
				record: () => {
					this.#next();
					return this.#tables.length > 0;
				},
			};
		}
		const chunk = deleteOldestLegacyEvents(this.#db, this.#before, limit);
		return {
			statements: [chunk.deliveries, chunk.events, chunk.held],
			record: ([deliveries, events, held], deleted) => {
				deleted.deliveries += deliveries?.meta.changes ?? 0;
				const changes = events?.meta.changes ?? 0;
				deleted.events += changes;
				if (changes >= limit) return true;
				// Nothing writes the legacy table any more: once empty, it goes.
				if ((held?.results[0] as Held | undefined)?.held === 0) this.#legacyEmpty = true;
				else this.#next();
				return this.#tables.length > 0;
			},
		};
	}

	#next(): void {
		this.#tables.shift();
		this.#deliveriesLeft = true;
	}
}

function chunkOf(db: D1Database, table: Exclude<Table, "events">, cutoff: string, limit: number): Step {
	const statement =
		table === "deliveries" ? deleteDeliveriesBefore(db, cutoff, limit) : deleteQuarantineBefore(db, cutoff, limit);
	return {
		statements: [statement],
		record: ([result], deleted) => {
			const changes = result?.meta.changes ?? 0;
			deleted[table] += changes;
			return changes >= limit;
		},
	};
}

/**
 * Deletes rows older than the cutoff in chunks, and never an event the archive does not hold yet
 * or its ledger may still look for. Each round takes one step of every table that still has
 * expired rows, so a large backlog of one cannot starve the others. Events go by table: a table
 * goes whole once its span is past the bound.
 */
export async function purgeExpired(
	db: D1Database,
	bounds: PurgeBounds,
	limits: PurgeLimits = DEFAULT_PURGE_LIMITS,
): Promise<PurgeReport> {
	const removable = removableBefore(bounds);
	const eventsBefore = removable === undefined ? bounds.cutoff : earliest(bounds.cutoff, removable);
	const deleted: Record<Table, number> = { events: 0, deliveries: 0, quarantine: 0 };
	const events = new EventsPurge(db, await listEventTables(db), eventsBefore);
	let pending: readonly Table[] = TABLES;
	let rounds = 0;
	while (pending.length > 0 && rounds < limits.maxRounds) {
		const steps = pending.flatMap((table) => {
			const step =
				table === "events" ? events.step(limits.chunkRows) : chunkOf(db, table, bounds.cutoff, limits.chunkRows);
			return step === null ? [] : [{ table, step }];
		});
		if (steps.length === 0) break;
		const results = await db.batch(steps.flatMap(({ step }) => step.statements));
		rounds += 1;
		let index = 0;
		const next: Table[] = [];
		for (const { table, step } of steps) {
			const own = results.slice(index, index + step.statements.length);
			index += step.statements.length;
			if (step.record(own, deleted)) next.push(table);
		}
		pending = next;
	}
	// A day's first tries go whole once every event received that day has gone.
	const attemptDaysDropped = pending.includes("events") ? [] : await dropAttemptsBefore(db, eventsBefore);
	return { cutoff: bounds.cutoff, eventsBefore, deleted, attemptDaysDropped, rounds, complete: pending.length === 0 };
}

export type RetentionPurgeResult = { ok: true; value: PurgeReport } | { ok: false; reason: "config_invalid" };

/**
 * The cron's retention step. `now` is the controller's scheduled time, so tests control the clock;
 * `bounds` are how far the archive and the ledgers' checks have got. With an
 * invalid RETENTION_DAYS nothing is deleted: a guessed period could delete what the operator meant
 * to keep, and the byte budget still protects D1 meanwhile.
 */
export async function purgeRetention(
	env: Pick<Env, "DB" | "RETENTION_DAYS" | "FORWARD_RETRY_SCHEDULE">,
	now: number,
	bounds: RemovalBounds,
): Promise<RetentionPurgeResult> {
	const config = readRetentionConfig(env);
	if (!config.ok) {
		log.error("config_invalid", { message: config.message });
		return { ok: false, reason: "config_invalid" };
	}
	const days = effectiveRetentionDays(env, config.value.retentionDays);
	const cutoff = new Date(now - days * DAY_MS).toISOString();
	const report = await purgeExpired(env.DB, { ...bounds, cutoff });
	// Erasure tombstones: a handful of rows, each outliving every copy that was in flight.
	await purgeTombstones(env.DB, cutoff).run();
	log.info("retention_purged", { ...report });
	// The insight rollups have their own period (400 days), whatever RETENTION_DAYS says.
	await purgeInsights(env.DB, now);
	return { ok: true, value: report };
}
