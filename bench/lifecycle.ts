import { METER_UNITS, type MeterCounts, type MeterUnit } from "../src/meter/meter.ts";
import { DAY_SECONDS, type Lifecycle, type LifeSettings, zeroCounts } from "./all-in.ts";

/*
 * The simulated days of an event's life (bench/steady-state.ts): cron runs at chosen times, each
 * metered on its own. The relay's maintenance takes its `now` from the run's time, so the runs
 * below walk a burst of events through everything that happens to it later: its hour archived (10
 * minutes after the hour ends; a run every hour to the end of its day, as the real cron's hourly
 * work), the byte budget's eviction (once archived and found by its ledger), its ledgers forgetting
 * the day (DEDUPE_DAYS after it ends), retention dropping D1's event tables (RETENTION_DAYS after),
 * the archive purged (ARCHIVE_RETENTION_DAYS after). A run just before each shows that it waited.
 *
 * The same schedule runs again, shifted by BASELINE_SHIFT_DAYS, once everything is gone: the
 * cron's own cost on the same kind of days. Run by run, the difference is what the events cost.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = DAY_SECONDS * 1000;

/** Far enough that nothing of the first schedule is left, and whole days, so both runs see the same hours. */
export const BASELINE_SHIFT_DAYS = 1000;

/** What a run is for, which decides how its difference is counted (per event, per bucket-hour, per bucket-day). */
export type RunKind = "archive" | "forget" | "retention" | "purge";

export interface PlannedRun {
	label: string;
	kind: RunKind;
	at: number;
}

const hourStart = (time: number) => time - (time % HOUR_MS);
const dayStart = (time: number) => time - (time % DAY_MS);

/** The runs for events accepted from `firstAccept` to `lastAccept`. */
export function lifecycleSchedule(firstAccept: number, lastAccept: number, settings: LifeSettings): PlannedRun[] {
	const day = dayStart(lastAccept);
	const dayPlus = (days: number, minutes: number) => day + days * DAY_MS + minutes * MINUTE_MS;
	const runs: PlannedRun[] = [];
	// Every hour from the first one after the events' first to the first of the next day.
	for (let at = hourStart(firstAccept) + HOUR_MS + 11 * MINUTE_MS; at <= dayPlus(1, 71); at += HOUR_MS) {
		const when = at < dayPlus(1, 0) ? "the same day" : "the next day";
		runs.push({ label: `${new Date(at).toISOString().slice(11, 16)} ${when}`, kind: "archive", at });
	}
	runs[runs.length - 1]!.label = "the next day";
	const forget = 1 + settings.dedupeDays;
	const retention = 1 + settings.retentionDays;
	const purge = 1 + settings.archiveRetentionDays;
	runs.push(
		{ label: "before DEDUPE_DAYS", kind: "forget", at: dayPlus(forget, -30) },
		{ label: "after DEDUPE_DAYS", kind: "forget", at: dayPlus(forget, 30) },
		{ label: "before RETENTION_DAYS", kind: "retention", at: dayPlus(retention, -30) },
		{ label: "after RETENTION_DAYS", kind: "retention", at: dayPlus(retention, 30) },
		{ label: "before ARCHIVE_RETENTION_DAYS", kind: "purge", at: dayPlus(purge - 1, -30) },
		{ label: "after ARCHIVE_RETENTION_DAYS", kind: "purge", at: dayPlus(purge, 30) },
	);
	return runs;
}

export function shifted(runs: readonly PlannedRun[], days: number): PlannedRun[] {
	return runs.map((run) => ({ ...run, at: run.at + days * DAY_MS }));
}

export function sumCounts(counts: readonly MeterCounts[]): MeterCounts {
	const total = zeroCounts();
	for (const item of counts) for (const unit of METER_UNITS) total[unit] += item[unit];
	return total;
}

/** a − b, unit by unit. */
export function minus(a: MeterCounts, b: MeterCounts): MeterCounts {
	const difference = zeroCounts();
	for (const unit of METER_UNITS) difference[unit] = a[unit] - b[unit];
	return difference;
}

export function scaled(counts: MeterCounts, factor: number): MeterCounts {
	const result = zeroCounts();
	for (const unit of METER_UNITS) result[unit] = counts[unit] * factor;
	return result;
}

function only(counts: MeterCounts, units: ReadonlySet<MeterUnit>, keep: boolean): MeterCounts {
	const result = zeroCounts();
	for (const unit of METER_UNITS) if (units.has(unit) === keep) result[unit] = counts[unit];
	return result;
}

/** D1's work grows with the events it removes; storage is priced by how long it is held, not here. */
const D1_WORK: ReadonlySet<MeterUnit> = new Set(["d1RowsWritten", "d1RowsRead", "d1Writes"]);
const NOT_PERIODIC: ReadonlySet<MeterUnit> = new Set([
	...D1_WORK,
	"d1BytesStored",
	"doBytesStored",
	"r2ClassA",
	"r2BytesWritten",
	"eventsAccepted",
]);

/** One run with the events and its baseline twin, as the scenario measured them. */
export interface RunPair {
	kind: RunKind;
	withEvents: MeterCounts;
	baseline: MeterCounts;
	/** Events D1 held before and after the run with the events. */
	d1EventsBefore: number;
	d1EventsAfter: number;
}

export interface LifecycleCounts {
	/** Every event the worker accepted in this runtime. */
	events: number;
	pairs: readonly RunPair[];
	/** Distinct (bucket, hour) the archive wrote, and what it holds: null without an archive. */
	archive: { bucketHours: number; events: number; ndjsonBytes: number } | null;
	/** Distinct (bucket, day) forgotten: the buckets × the days the events were filed under. */
	bucketDays: number;
}

/**
 * Run-by-run differences, counted where they belong: D1's work per event removed (by the budget in
 * archive runs, by retention's drops in retention runs, rows read per event in all), the other
 * units of archive runs per bucket-hour and of forget and retention runs per bucket-day. Purge runs
 * cost nothing per event (R2 deletes are free); their difference is kept in `unassigned`, with
 * anything the rules leave over, so a report can show it is nothing.
 */
export function lifecycleOf(counts: LifecycleCounts): Lifecycle & { unassigned: MeterCounts } {
	const delta = (pair: RunPair) => minus(pair.withEvents, pair.baseline);
	const of = (kinds: readonly RunKind[]) => sumCounts(counts.pairs.filter((p) => kinds.includes(p.kind)).map(delta));
	const removedBy = (pair: RunPair) => Math.max(0, pair.d1EventsBefore - pair.d1EventsAfter);
	// The budget (archive runs) deletes row by row, a row written per event, and drops ended quarter
	// tables whole, none written: of what a run removed, as many as it wrote rows went row by row
	// (at most: its deliveries rows count too), the rest whole.
	const rowDeleted = (pair: RunPair) => Math.min(removedBy(pair), Math.max(0, delta(pair).d1RowsWritten));
	const pairsOf = (kind: RunKind) => counts.pairs.filter((pair) => pair.kind === kind);
	const archiveRuns = of(["archive"]);
	const dayRuns = of(["forget", "retention"]);
	const evicted = pairsOf("archive").reduce((sum, pair) => sum + rowDeleted(pair), 0);
	const dropped =
		pairsOf("archive").reduce((sum, pair) => sum + removedBy(pair) - rowDeleted(pair), 0) +
		pairsOf("retention").reduce((sum, pair) => sum + removedBy(pair), 0);
	const writes = (runs: MeterCounts, events: number) =>
		events === 0
			? zeroCounts()
			: scaled(only(runs, new Set<MeterUnit>(["d1RowsWritten", "d1Writes"]), true), 1 / events);
	const reads = only(sumCounts(counts.pairs.map(delta)), new Set<MeterUnit>(["d1RowsRead"]), true);
	const perBucketHour =
		counts.archive === null || counts.archive.bucketHours === 0
			? zeroCounts()
			: scaled(only(archiveRuns, NOT_PERIODIC, false), 1 / counts.archive.bucketHours);
	const perBucketDay =
		counts.bucketDays === 0 ? zeroCounts() : scaled(only(dayRuns, NOT_PERIODIC, false), 1 / counts.bucketDays);
	const assigned = sumCounts([
		only(archiveRuns, new Set<MeterUnit>(["d1RowsWritten", "d1Writes"]), true),
		only(dayRuns, new Set<MeterUnit>(["d1RowsWritten", "d1Writes"]), true),
		reads,
		only(archiveRuns, NOT_PERIODIC, false),
		only(dayRuns, NOT_PERIODIC, false),
		only(archiveRuns, new Set<MeterUnit>(["r2ClassA", "r2BytesWritten"]), true),
	]);
	const storage = new Set<MeterUnit>(["d1BytesStored", "doBytesStored", "eventsAccepted"]);
	const unassigned = only(minus(sumCounts(counts.pairs.map(delta)), assigned), storage, false);
	return {
		evictedEvents: evicted,
		droppedEvents: dropped,
		perEvictedEvent: writes(archiveRuns, evicted),
		// The archive runs' writes are the row deletes': a whole table's drop writes none.
		perDroppedEvent: writes(dayRuns, dropped),
		perEvent: scaled(reads, 1 / counts.events),
		perBucketHour,
		perBucketDay,
		archive:
			counts.archive === null || counts.archive.events === 0
				? null
				: {
						storedBytesPerEvent: archiveRuns.r2BytesWritten / counts.archive.events,
						ndjsonBytesPerEvent: counts.archive.ndjsonBytes / counts.archive.events,
						objectsPerBucketHour: archiveRuns.r2ClassA / counts.archive.bucketHours,
					},
		unassigned,
	};
}
