import { raiseAlert } from "../alerts/raise-alert";
import { DEFAULT_RETENTION_CONFIG, readRetentionConfig } from "../config";
import {
	deleteDayTableChunk,
	deleteDeliveriesOfTable,
	deleteOldestLegacyEvents,
	dropEventTable,
	holdsDeadEvent,
} from "../db/event-expiry.repository";
import { eventTableEnd, isDayTable, LEGACY_EVENTS_TABLE, listEventTables } from "../db/event-tables";
import { type D1Storage, readStorage } from "../db/storage.repository";
import { log } from "../log";
import { archiveHorizon, type RemovalBounds, removableBefore } from "./archive-horizon";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Early enough to act (raise the budget, shorten RETENTION_DAYS, fix the archive) before history is cut. */
const NEAR_BUDGET_RATIO = 0.8;

export interface BudgetLimits {
	/** Events per DELETE; the size is re-measured after each. */
	chunkRows: number;
	/** Three statements a round (and a drop now and then): with retention's at most 600, a cron run stays under D1's 1,000 queries. */
	maxRounds: number;
}

/** 50,000 events a run, every minute: ~830 events/s of growth, about what one database's single writer takes. */
export const DEFAULT_BUDGET_LIMITS: BudgetLimits = { chunkRows: 1000, maxRounds: 50 };

/**
 * - `within_budget`: nothing to do
 * - `evicted`: the oldest events went until D1 was at or under budget
 * - `round_limit`: still over budget; the next run continues
 * - `archive_behind`: still over budget, and every event left is one the archive does not hold yet
 * - `ledgers_behind`: still over budget, and every event left is one whose ledger has yet to find
 *   it in D1 (received within the last minutes, or D1 has refused the ledgers' reads)
 * - `nothing_to_evict`: still over budget with no events left (the other tables fill it)
 */
export type BudgetOutcome =
	| "within_budget"
	| "evicted"
	| "round_limit"
	| "archive_behind"
	| "ledgers_behind"
	| "nothing_to_evict";

export interface D1StorageReport extends D1Storage {
	budgetBytes: number;
}

export interface BudgetReport extends D1StorageReport {
	evicted: number;
	outcome: BudgetOutcome;
}

/** The budget in force: the default while the retention settings are invalid, as the maintenance jobs use. */
export function budgetBytesOf(env: Pick<Env, "D1_BUDGET_MB">): number {
	const config = readRetentionConfig(env);
	return (config.ok ? config.value : DEFAULT_RETENTION_CONFIG).d1BudgetBytes;
}

/** What /health and /v1/stats show, read from the schema and the size D1 reports with it. */
export async function readD1Storage(env: Pick<Env, "DB" | "D1_BUDGET_MB">): Promise<D1StorageReport> {
	return { ...(await readStorage(env.DB)), budgetBytes: budgetBytesOf(env) };
}

interface Eviction {
	evicted: number;
	/**
	 * Why it stopped short of the budget: `empty`, no events left; `bound`, the events left may not
	 * go yet (the oldest table's rest is too recent); `none`, the round limit.
	 */
	stop: "none" | "empty" | "bound";
	/** Size after the last statement, as D1 measured it. */
	size: number;
}

/**
 * Whether the oldest table may go whole (DROP TABLE: no row written) rather than row by row: its
 * span has ended, and every event in it was received before `before` (the archive's and the
 * ledgers' bound; events are filed under their receipt or later). A quarter table goes so even when
 * that takes D1 further under budget than needed, by at most a quarter of a day: its delete would
 * bill a row per event. A day table (the layout before quarters) also needs the next table to have
 * ended, the rule before quarters: a whole day is too much to evict beyond need. Whether it holds a
 * dead event, which the budget keeps, is asked of D1 next (wholeTableDrop).
 */
export function mayDropWhole(tables: readonly string[], now: number, before: string | undefined): boolean {
	const [oldest, next] = tables;
	if (oldest === undefined) return false;
	const end = eventTableEnd(oldest);
	if (end === null || end > now) return false;
	if (before !== undefined && end > Date.parse(before)) return false;
	if (!isDayTable(oldest)) return true;
	const nextEnd = next === undefined ? null : eventTableEnd(next);
	return nextEnd !== null && nextEnd <= now;
}

type Dead = { dead: number };

/**
 * One round of dropping the oldest table whole: first whether it holds a dead event (`kept`: it
 * then goes row by row, its dead events staying; moving those few rows to another table instead
 * would file them under a time they were not received in, which retention, erasure and the readers
 * go by), then its deliveries rows a chunk at a time (none may outlive its event), then the table.
 * The check and the drop are apart: an event of the table whose last retry dies in between goes
 * with it (the row-by-row delete, one statement, cannot lose one so; only a retry dying in the
 * moment between the two reads of one cron run can).
 */
async function wholeTableDrop(
	db: D1Database,
	table: string,
	limit: number,
	cleared: Set<string>,
): Promise<{ kind: "kept" | "more" } | { kind: "dropped"; events: number; size: number | undefined }> {
	if (!cleared.has(table)) {
		const dead = await holdsDeadEvent(db, table).first<Dead>();
		if (dead?.dead !== 0) return { kind: "kept" };
		cleared.add(table);
	}
	const deliveries = await deleteDeliveriesOfTable(db, table, limit).run();
	if (deliveries.meta.changes >= limit) return { kind: "more" };
	const [count, drop] = await db.batch(dropEventTable(db, table));
	return {
		kind: "dropped",
		events: (count?.results[0] as { n: number } | undefined)?.n ?? 0,
		size: drop?.meta.size_after,
	};
}

/**
 * Evicts from the oldest table (the legacy one first, on its time index; then the oldest quarter or
 * day) until D1 is at or under budget. A table goes whole once it has ended and holds no dead event
 * (mayDropWhole); otherwise in key order (within a table the order is of no matter) a chunk at a
 * time, re-measuring after each, the table dropped once empty. Every table after the oldest was
 * received later: a table whose rows are all too recent to go ends the eviction.
 */
async function evictOldest(
	db: D1Database,
	before: string | undefined,
	budgetBytes: number,
	sizeBytes: number,
	limits: BudgetLimits,
	now: number,
): Promise<Eviction> {
	const tables = await listEventTables(db);
	/** Tables found to hold a dead event (row by row), and to hold none (whole). */
	const keeping = new Set<string>();
	const cleared = new Set<string>();
	let evicted = 0;
	let size = sizeBytes;
	// The first chunk is full size; later ones are sized from what a row freed so far, so a small
	// budget is not overshot by a whole chunk. The size that decides is always D1's own.
	let rows = limits.chunkRows;
	for (let round = 0; round < limits.maxRounds && size > budgetBytes; round += 1) {
		const table = tables[0];
		if (table === undefined) return { evicted, stop: "empty", size };
		if (!keeping.has(table) && mayDropWhole(tables, now, before)) {
			const whole = await wholeTableDrop(db, table, limits.chunkRows, cleared);
			if (whole.kind === "more") continue;
			if (whole.kind === "dropped") {
				evicted += whole.events;
				size = whole.size ?? size;
				tables.shift();
				continue;
			}
			keeping.add(table);
		}
		const chunk =
			table === LEGACY_EVENTS_TABLE
				? deleteOldestLegacyEvents(db, before, rows)
				: deleteDayTableChunk(db, table, before, rows);
		const [, events, held, kept] = await db.batch([
			chunk.deliveries,
			chunk.events,
			chunk.held,
			...(chunk.kept === undefined ? [] : [chunk.kept]),
		]);
		const changes = events?.meta.changes ?? 0;
		const freed = size - (events?.meta.size_after ?? size);
		evicted += changes;
		size = events?.meta.size_after ?? size;
		if (changes < rows) {
			const holds = (held?.results[0] as { held: number } | undefined)?.held !== 0;
			if (holds && (kept?.results[0] as { kept: number } | undefined)?.kept === 1) {
				// Only dead events are left here: they stay, and the next table is next.
				tables.shift();
				continue;
			}
			if (holds) return { evicted, stop: "bound", size };
			// Emptied: the table goes, and the next oldest is next.
			const [, drop] = await db.batch(dropEventTable(db, table));
			size = drop?.meta.size_after ?? size;
			tables.shift();
		}
		if (changes > 0 && freed > 0) {
			const perRow = freed / changes;
			rows = Math.max(1, Math.min(limits.chunkRows, Math.ceil((size - budgetBytes) / perRow)));
		}
	}
	return { evicted, stop: "none", size };
}

function outcomeOf(report: D1StorageReport, eviction: Eviction, bounds: RemovalBounds): BudgetOutcome {
	if (report.sizeBytes <= report.budgetBytes) return eviction.evicted > 0 ? "evicted" : "within_budget";
	if (eviction.stop === "none") return "round_limit";
	if (eviction.stop === "empty") return "nothing_to_evict";
	const archived = archiveHorizon(bounds.archivedBefore);
	return archived !== undefined && archived === removableBefore(bounds) ? "archive_behind" : "ledgers_behind";
}

/**
 * Keeps D1 under D1_BUDGET_MB whatever RETENTION_DAYS says: while it is over, the events of the
 * oldest table go, with their deliveries rows: the whole table at once once it has ended,
 * otherwise a chunk at a time. With an archive only events it
 * already holds may go; history beyond D1 is then read from R2. Without one, the budget wins over
 * history: a full D1 stops every ledger from draining. Never an event its ledger may still look
 * for (`bounds.verifiedBefore`): one missing there would be sent again.
 */
export async function enforceBudget(
	env: Pick<Env, "DB" | "D1_BUDGET_MB" | "ALERT_URL" | "ALERT_DESK">,
	now: number,
	bounds: RemovalBounds,
	limits: BudgetLimits = DEFAULT_BUDGET_LIMITS,
): Promise<BudgetReport> {
	const { archivedBefore } = bounds;
	const config = readRetentionConfig(env);
	if (!config.ok) log.error("config_invalid", { message: config.message });
	const measured = await readD1Storage(env);
	const { budgetBytes } = measured;
	let eviction: Eviction = { evicted: 0, stop: "none", size: measured.sizeBytes };
	let storage = measured;
	if (measured.sizeBytes > budgetBytes) {
		eviction = await evictOldest(env.DB, removableBefore(bounds), budgetBytes, measured.sizeBytes, limits, now);
		storage = await readD1Storage(env);
	}
	const outcome = outcomeOf(storage, eviction, bounds);
	const report: BudgetReport = { ...storage, evicted: eviction.evicted, outcome };
	const historyDays =
		storage.historyFrom === null ? null : Math.floor((now - Date.parse(storage.historyFrom)) / DAY_MS);

	if (eviction.evicted > 0) {
		log.info("d1_budget_enforced", { ...report, sizeBeforeBytes: measured.sizeBytes, historyDays });
	}
	if (outcome === "archive_behind") {
		log.error("d1_over_budget_archive_behind", {
			sizeBytes: storage.sizeBytes,
			budgetBytes,
			archivedBefore,
			historyFrom: storage.historyFrom,
		});
	} else if (outcome === "ledgers_behind") {
		log.error("d1_over_budget_ledgers_behind", {
			sizeBytes: storage.sizeBytes,
			budgetBytes,
			verifiedBefore: bounds.verifiedBefore,
		});
	} else if (outcome === "nothing_to_evict") {
		log.error("d1_over_budget_nothing_to_evict", { sizeBytes: storage.sizeBytes, budgetBytes });
	}
	const ratio = storage.sizeBytes / budgetBytes;
	if (ratio >= NEAR_BUDGET_RATIO) {
		const details = { sizeBytes: storage.sizeBytes, budgetBytes, ratio: Math.round(ratio * 1000) / 1000, historyDays };
		log.warn("d1_near_budget", details);
		await raiseAlert(env, { type: "relay.storage.near_budget", key: "d1", count: 1, data: details });
	}
	return report;
}
