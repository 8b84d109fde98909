import { METER_UNITS, type MeterCounts, type MeterUnit } from "../src/meter/meter.ts";
import { PRICES, type Price } from "./prices.ts";

/*
 * The all-in steady-state price of an event (BENCHMARKS.md, "All-in steady state"): everything its
 * life costs, from the callback to the last byte dropped, at list prices, for a relay receiving a
 * steady `rate` events/s. Pure: bench/steady-state.ts measures the inputs, test/e2e/all-in.test.ts
 * checks the arithmetic.
 *
 * What is per event and what is per unit of time, as the simulated days measured them:
 * - per event: the first pass (the load until its events reached the sink and D1, and the
 *   ledgers' checks a minute later), the D1 work of its removal (the byte budget's delete, one row
 *   an event, for the share budgetRowShare gives where the budget binds; a DROP TABLE, the
 *   budget's whole quarter-day table or retention's, for the rest), the bytes it adds
 *   to D1, its ledger and the archive, each held as long as the simulated days showed;
 * - per ledger bucket and hour: archiving the hour (the cron's extra work, and its objects: one per
 *   8 MiB of NDJSON, at least one);
 * - per ledger bucket and day: forgetting the day and retention dropping it;
 * - per minute: the cron's own run (and the extra of each hour's first run), whatever the traffic.
 * Every bucket is assumed to receive events every hour (at 1 event/s, 56 an hour each).
 */

export const DAY_SECONDS = 86_400;
const MONTH_SECONDS = 30 * DAY_SECONDS;
const HOURS_PER_MONTH = MONTH_SECONDS / 3600;
const DAYS_PER_MONTH = 30;
const GB = 1e9;
/** src/archive/write-archive-hour.ts ARCHIVE_PART_BYTES: one object per this much NDJSON of a bucket's hour. */
export const ARCHIVE_PART_BYTES = 8 * 1024 * 1024;

export interface LifeSettings {
	buckets: number;
	retentionDays: number;
	dedupeDays: number;
	archiveRetentionDays: number;
	d1BudgetBytes: number;
}

export const DEFAULT_LIFE_SETTINGS: LifeSettings = {
	buckets: 64,
	retentionDays: 30,
	dedupeDays: 5,
	archiveRetentionDays: 400,
	d1BudgetBytes: 8000 * 1_000_000,
};

export interface Lifecycle {
	/**
	 * Events the simulated days took out of D1, by the byte budget's row-by-row delete and by a
	 * DROP TABLE (the budget's ended quarters, retention's): what perEvictedEvent and perDroppedEvent are measured over (0: not
	 * measured, the figure is zero for want of a measurement, not because it is free).
	 */
	evictedEvents: number;
	droppedEvents: number;
	/** D1 work of the byte budget's eviction, per event it evicted (rows written: its delete). */
	perEvictedEvent: MeterCounts;
	/** D1 work of retention's drops, per event a dropped table held (DROP TABLE: no row written). */
	perDroppedEvent: MeterCounts;
	/** The rest of the simulated days' D1 work, per event (rows read). */
	perEvent: MeterCounts;
	/** What archiving one bucket's hour adds to the cron, its objects aside. */
	perBucketHour: MeterCounts;
	/** What forgetting one bucket's day, and retention dropping it, add to the cron. */
	perBucketDay: MeterCounts;
	/**
	 * The archive (null: none, the floor): bytes stored and NDJSON bytes per event, and the objects
	 * (R2 Class A, the archive's listing included) the simulated hours wrote per bucket-hour, beside
	 * the model's one per 8 MiB.
	 */
	archive: { storedBytesPerEvent: number; ndjsonBytesPerEvent: number; objectsPerBucketHour: number } | null;
}

export interface AllInInput {
	/** Units per event of the load, storage growth included (d1BytesStored, doBytesStored). */
	firstPass: MeterCounts;
	/**
	 * Bytes a ledger holds per event: what the ledgers gave back when they forgot the events' day,
	 * per event (the meter's doBytesStored counts the pages a short load added, a noisier figure).
	 */
	ledgerBytesPerEvent: number;
	lifecycle: Lifecycle;
	/** The cron's own runs in a month (cronPerMonth). */
	cronPerMonth: MeterCounts;
	/** Days of history D1 holds, when given (the floor: the relay's); otherwise RETENTION_DAYS or D1_BUDGET_MB's. */
	d1HoldDays?: number;
}

export type AllInItem =
	| "first pass"
	| "leaving D1"
	| "archive objects"
	| "hours archived, days dropped"
	| "cron"
	| "D1 storage"
	| "ledger storage"
	| "archive storage";

export const ALL_IN_ITEMS: readonly AllInItem[] = [
	"first pass",
	"leaving D1",
	"archive objects",
	"hours archived, days dropped",
	"cron",
	"D1 storage",
	"ledger storage",
	"archive storage",
];

export interface AllInResult {
	rate: number;
	usdPerMillionEvents: number;
	/** Dollars per million events, item by item. */
	byItem: Record<AllInItem, number>;
	/** Billed use per event, every source together (storage units: bytes as counted, not as held). */
	perEvent: MeterCounts;
	d1HoldDays: number;
	/** D1_BUDGET_MB binds before RETENTION_DAYS at this rate: events leave D1 by the budget. */
	budgetBinds: boolean;
	/** Of the events leaving D1, the share the budget deletes row by row (budgetRowShare); the rest go whole. */
	rowDeletedShare: number;
	/**
	 * Whether the ways events leave D1 at this rate were measured: false when the budget's row
	 * delete (or a whole-table drop) has a share and the simulated days evicted (dropped) no event, so
	 * "leaving D1" lacks its rows written. A report must say so; the bench's targets fail on it.
	 */
	leavingMeasured: boolean;
	archiveObjectsPerBucketHour: number;
}

const STORAGE_UNITS: ReadonlySet<MeterUnit> = new Set(["d1BytesStored", "doBytesStored", "r2BytesWritten"]);

export function zeroCounts(): MeterCounts {
	return Object.fromEntries(METER_UNITS.map((unit) => [unit, 0])) as MeterCounts;
}

function combine(parts: ReadonlyArray<[Partial<MeterCounts>, number]>): MeterCounts {
	const total = zeroCounts();
	for (const [counts, factor] of parts) {
		for (const unit of METER_UNITS) total[unit] += (counts[unit] ?? 0) * factor;
	}
	return total;
}

/** Dollars for the units billed per use (requests, rows, operations, points, log events). */
function perUseUsd(units: Partial<MeterCounts>): number {
	let usd = 0;
	for (const unit of METER_UNITS) {
		const price = PRICES[unit];
		if (price === null || price.kind !== "per-unit" || STORAGE_UNITS.has(unit)) continue;
		usd += ((units[unit] ?? 0) * price.usdPerMillion) / 1e6;
	}
	return usd;
}

function heldUsd(price: Price | null, bytes: number, days: number): number {
	if (price === null || price.kind !== "storage") return 0;
	return (bytes / GB) * price.usdPerGbMonth * (days / 30);
}

/** Days of traffic D1_BUDGET_MB holds at `rate` (Infinity with no traffic or no bytes). */
export function budgetDaysAt(rate: number, d1BytesPerEvent: number, settings: LifeSettings): number {
	if (d1BytesPerEvent <= 0 || rate <= 0) return Number.POSITIVE_INFINITY;
	return settings.d1BudgetBytes / (d1BytesPerEvent * rate * DAY_SECONDS);
}

/** A D1 event table's span, in days: a quarter (src/db/event-tables.ts EVENT_TABLE_HOURS). */
export const TABLE_DAYS = 0.25;

/** Whether D1_BUDGET_MB takes events out before RETENTION_DAYS would: D1 would hold RETENTION_DAYS and a table's span at most. */
export function budgetBindsAt(budgetDays: number, settings: LifeSettings): boolean {
	return budgetDays < settings.retentionDays + TABLE_DAYS;
}

/**
 * Of the events the budget takes out of D1 (budget of B days' traffic, Q = B / TABLE_DAYS tables'
 * worth), the share it deletes row by row; the rest go with their quarter's table, whole
 * (src/maintenance/enforce-budget.ts: a table goes whole once it has ended). Q ≥ 1: none, an ended
 * table is there to drop whenever D1 is over. Q < 1: 1 − Q of each quarter (the running quarter
 * alone overfills the budget and is deleted row by row down to Q as it fills; that rest goes whole
 * once it has ended). The archive's and the ledgers' bound (an hour or so behind) is left out: it
 * delays both ways alike.
 */
export function budgetRowShare(budgetDays: number): number {
	return Math.min(1, Math.max(0, 1 - budgetDays / TABLE_DAYS));
}

/**
 * Days D1 holds an event at `rate`, on average: RETENTION_DAYS + half a table's span (tables go
 * whole: between R and R + TABLE_DAYS held); where the budget binds, B − TABLE_DAYS / 2 for
 * B ≥ TABLE_DAYS (whole tables, between B − TABLE_DAYS and B held), B below (D1 sits at its budget).
 */
export function d1HoldDaysAt(rate: number, d1BytesPerEvent: number, settings: LifeSettings): number {
	const budget = budgetDaysAt(rate, d1BytesPerEvent, settings);
	if (!budgetBindsAt(budget, settings)) return settings.retentionDays + TABLE_DAYS / 2;
	if (budget >= TABLE_DAYS) return budget - TABLE_DAYS / 2;
	return budget;
}

/** How the relay's events leave D1 at a rate, in words. */
export function leavingWay(result: Pick<AllInResult, "budgetBinds" | "rowDeletedShare">): string {
	if (!result.budgetBinds) return "retention's DROP TABLE";
	if (result.rowDeletedShare >= 1) return "the budget's row-by-row delete";
	if (result.rowDeletedShare <= 0) return "the budget's whole-table DROP TABLE";
	// 99.97 % must not read as 100 %: the whole tables are there, however few.
	const percent = result.rowDeletedShare * 100;
	const shown = percent > 99 || percent < 1 ? percent.toFixed(2) : percent.toFixed(0);
	return `the budget: ${shown} % row by row, the rest whole tables`;
}

/** Objects one bucket writes for an hour: one per ARCHIVE_PART_BYTES of its NDJSON, at least one. */
export function archiveObjectsPerBucketHour(rate: number, ndjsonBytesPerEvent: number, buckets: number): number {
	const bytes = ((rate * 3600) / buckets) * ndjsonBytesPerEvent;
	return Math.max(1, Math.ceil(bytes / ARCHIVE_PART_BYTES));
}

export function allInAt(rate: number, input: AllInInput, settings: LifeSettings = DEFAULT_LIFE_SETTINGS): AllInResult {
	const { firstPass, lifecycle } = input;
	const eventsPerMonth = rate * MONTH_SECONDS;
	const d1HoldDays = input.d1HoldDays ?? d1HoldDaysAt(rate, firstPass.d1BytesStored, settings);
	const budgetBinds =
		input.d1HoldDays === undefined && budgetBindsAt(budgetDaysAt(rate, firstPass.d1BytesStored, settings), settings);
	const rowDeletedShare = budgetBinds ? budgetRowShare(budgetDaysAt(rate, firstPass.d1BytesStored, settings)) : 0;
	const leaving = combine([
		[lifecycle.perEvictedEvent, rowDeletedShare],
		[lifecycle.perDroppedEvent, 1 - rowDeletedShare],
	]);
	const leavingMeasured =
		(rowDeletedShare === 0 || lifecycle.evictedEvents > 0) && (rowDeletedShare === 1 || lifecycle.droppedEvents > 0);
	const objects =
		lifecycle.archive === null
			? 0
			: archiveObjectsPerBucketHour(rate, lifecycle.archive.ndjsonBytesPerEvent, settings.buckets);
	const bucketHours = settings.buckets * HOURS_PER_MONTH;
	const bucketDays = settings.buckets * DAYS_PER_MONTH;
	const periodic = combine([
		[lifecycle.perBucketHour, bucketHours / eventsPerMonth],
		[lifecycle.perBucketDay, bucketDays / eventsPerMonth],
	]);
	const archiveObjects: Partial<MeterCounts> = { r2ClassA: (objects * bucketHours) / eventsPerMonth };
	const cron = combine([[input.cronPerMonth, 1 / eventsPerMonth]]);
	const storedArchive = lifecycle.archive?.storedBytesPerEvent ?? 0;
	const byItem: Record<AllInItem, number> = {
		"first pass": perUseUsd(firstPass),
		"leaving D1": perUseUsd(
			combine([
				[leaving, 1],
				[lifecycle.perEvent, 1],
			]),
		),
		"archive objects": perUseUsd(archiveObjects),
		"hours archived, days dropped": perUseUsd(periodic),
		cron: perUseUsd(cron),
		"D1 storage": heldUsd(PRICES.d1BytesStored, firstPass.d1BytesStored, d1HoldDays),
		"ledger storage": heldUsd(PRICES.doBytesStored, input.ledgerBytesPerEvent, settings.dedupeDays + 0.5),
		"archive storage": heldUsd(PRICES.r2BytesWritten, storedArchive, settings.archiveRetentionDays),
	};
	const nonStorage = (counts: MeterCounts) =>
		Object.fromEntries(
			Object.entries(counts).map(([unit, value]) => [unit, STORAGE_UNITS.has(unit as MeterUnit) ? 0 : value]),
		) as MeterCounts;
	const perEvent = combine([
		[firstPass, 1],
		[nonStorage(leaving), 1],
		[nonStorage(lifecycle.perEvent), 1],
		[nonStorage(periodic), 1],
		[archiveObjects, 1],
		[nonStorage(cron), 1],
		[{ r2BytesWritten: storedArchive }, 1],
	]);
	const total = Object.values(byItem).reduce((sum, usd) => sum + usd, 0);
	return {
		rate,
		usdPerMillionEvents: total * 1e6,
		byItem: Object.fromEntries(Object.entries(byItem).map(([item, usd]) => [item, usd * 1e6])) as Record<
			AllInItem,
			number
		>,
		perEvent,
		d1HoldDays,
		budgetBinds,
		rowDeletedShare,
		leavingMeasured,
		archiveObjectsPerBucketHour: objects,
	};
}

/**
 * A month of a cron: `runsPerHour` runs an hour (the relay's every minute; the floor's once), the
 * first of each hour doing the hour's extra work too (the ledgers note the hour they archive up to).
 */
export function cronPerMonth(minuteRun: MeterCounts, hourRun: MeterCounts, runsPerHour = 60): MeterCounts {
	const month = zeroCounts();
	for (const unit of METER_UNITS) {
		const extra = Math.max(0, hourRun[unit] - minuteRun[unit]);
		month[unit] = HOURS_PER_MONTH * (runsPerHour * minuteRun[unit] + extra);
	}
	return month;
}
