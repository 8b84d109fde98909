import { raiseAlert } from "../alerts/raise-alert";
import { DEFAULT_RETENTION_CONFIG, readRetentionConfig } from "../config";
import { deleteOldestEvents } from "../db/events.repository";
import { type D1Storage, readStorage } from "../db/storage.repository";
import { log } from "../log";
import { archiveHorizon } from "./archive-horizon";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Early enough to act (raise the budget, shorten RETENTION_DAYS, fix the archive) before history is cut. */
const NEAR_BUDGET_RATIO = 0.8;

export interface BudgetLimits {
	/** Events per DELETE; the size is re-measured after each. */
	chunkRows: number;
	/** Two statements a round: with retention's at most 500, a cron run stays under D1's 1,000 queries. */
	maxRounds: number;
}

/** 50,000 events a run, every minute: ~830 events/s of growth, about what one database's single writer takes. */
export const DEFAULT_BUDGET_LIMITS: BudgetLimits = { chunkRows: 1000, maxRounds: 50 };

/**
 * - `within_budget`: nothing to do
 * - `evicted`: the oldest events went until D1 was at or under budget
 * - `round_limit`: still over budget; the next run continues
 * - `archive_behind`: still over budget, and every event left is one the archive does not hold yet
 * - `nothing_to_evict`: still over budget with no events left (the other tables fill it)
 */
export type BudgetOutcome = "within_budget" | "evicted" | "round_limit" | "archive_behind" | "nothing_to_evict";

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

/** What /health and /v1/stats show: one indexed min() and the size D1 reports with it. */
export async function readD1Storage(env: Pick<Env, "DB" | "D1_BUDGET_MB">): Promise<D1StorageReport> {
	return { ...(await readStorage(env.DB)), budgetBytes: budgetBytesOf(env) };
}

interface Eviction {
	evicted: number;
	/** The events chunk that ended the loop removed fewer rows than asked: none of the kind allowed is left. */
	exhausted: boolean;
}

async function evictOldest(
	db: D1Database,
	before: string | undefined,
	budgetBytes: number,
	sizeBytes: number,
	limits: BudgetLimits,
): Promise<Eviction> {
	let evicted = 0;
	let size = sizeBytes;
	// The first chunk is full size; later ones are sized from what a row freed so far, so a small
	// budget is not overshot by a whole chunk. The size that decides is always D1's own.
	let rows = limits.chunkRows;
	for (let round = 0; round < limits.maxRounds && size > budgetBytes; round += 1) {
		const chunk = deleteOldestEvents(db, before, rows);
		const [, events] = (await db.batch([chunk.deliveries, chunk.events])).map((result) => result.meta);
		const changes = events?.changes ?? 0;
		const freed = size - (events?.size_after ?? size);
		evicted += changes;
		size = events?.size_after ?? size;
		if (changes < rows) return { evicted, exhausted: size > budgetBytes };
		if (freed > 0) {
			const perRow = freed / changes;
			rows = Math.max(1, Math.min(limits.chunkRows, Math.ceil((size - budgetBytes) / perRow)));
		}
	}
	return { evicted, exhausted: false };
}

function outcomeOf(report: D1StorageReport, eviction: Eviction, archived: boolean): BudgetOutcome {
	if (report.sizeBytes <= report.budgetBytes) return eviction.evicted > 0 ? "evicted" : "within_budget";
	if (!eviction.exhausted) return "round_limit";
	return archived ? "archive_behind" : "nothing_to_evict";
}

/**
 * Keeps D1 under D1_BUDGET_MB whatever RETENTION_DAYS says: while it is over, the oldest events
 * (by event time) go, with their deliveries rows, a chunk at a time. With an archive only events it
 * already holds may go; history beyond D1 is then read from R2. Without one, the budget wins over
 * history: a full D1 stops every ledger from draining.
 */
export async function enforceBudget(
	env: Pick<Env, "DB" | "D1_BUDGET_MB" | "ALERT_URL" | "ALERT_DESK">,
	now: number,
	archivedBefore: string | undefined,
	limits: BudgetLimits = DEFAULT_BUDGET_LIMITS,
): Promise<BudgetReport> {
	const config = readRetentionConfig(env);
	if (!config.ok) log.error("config_invalid", { message: config.message });
	const measured = await readD1Storage(env);
	const { budgetBytes } = measured;
	let eviction: Eviction = { evicted: 0, exhausted: false };
	let storage = measured;
	if (measured.sizeBytes > budgetBytes) {
		const before = archiveHorizon(archivedBefore);
		eviction = await evictOldest(env.DB, before, budgetBytes, measured.sizeBytes, limits);
		storage = await readD1Storage(env);
	}
	const outcome = outcomeOf(storage, eviction, archivedBefore !== undefined);
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
