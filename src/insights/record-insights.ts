import type { MaintainReport } from "../ledger/ledger-rpc";
import { HOUR_MS, hourOf } from "../ledger/partitions";
import { errorMessage, log } from "../log";
import { LATENCY_BINS, LATENCY_COLUMNS } from "./latency-sketch";
import type { InsightsVisit } from "./ledger-insights";
import { isEmptyTally, type KeyTally, mergeTally, type Tally } from "./tally";

/*
 * The cron's half of the insights: it reads how far each ledger's counts are in (insight_marks),
 * brings each ledger its mark (MessageLedger.maintain), and adds what they hand back to D1 in one
 * batch for every ledger at once. The batch moves the marks first, and only if no other run moved
 * them since they were read; every other statement writes only if that move was this run's. A
 * batch is one transaction: it lands whole, or not at all and the ledgers hand the same counts out
 * again next minute. Rows written per minute: one per (hour, application, number) and per error
 * code touched, the same again for the alerts' minute window, and the marks row — however many
 * events and ledgers.
 */

export interface InsightMarks {
	version: number;
	/** Ledger name → accept time (epoch ms) through which its facts are counted. */
	marks: Record<string, number>;
}

export const MINUTE_MS = 60_000;
/** JSON rows per statement: a statement's one bound value stays well under D1's 2 MB. */
const ROWS_PER_STATEMENT = 1000;

/** The marks; null when D1 cannot be read (the ledgers then keep their counts for the next minute). */
export async function readInsightMarks(db: D1Database): Promise<InsightMarks | null> {
	try {
		const row = await db
			.prepare("SELECT version, marks FROM insight_marks WHERE id = 1")
			.first<{ version: number; marks: string }>();
		if (row === null) throw new Error("insight_marks has no row: migration 0008 was not applied");
		return { version: row.version, marks: JSON.parse(row.marks) as Record<string, number> };
	} catch (error) {
		log.warn("insights_marks_unreadable", { error: errorMessage(error) });
		return null;
	}
}

export function visitFor(marks: InsightMarks | null | undefined, ledger: string): InsightsVisit | undefined {
	if (marks === null || marks === undefined) return undefined;
	return { committed: marks.marks[ledger] ?? null, version: marks.version };
}

export interface RecordedInsights {
	/** Keys (hour, application, number) added to. */
	keys: number;
	/** False when another run moved the marks first, or D1 refused the batch: nothing was counted. */
	written: boolean;
}

function chunks<T>(items: readonly T[]): T[][] {
	const out: T[][] = [];
	for (let start = 0; start < items.length; start += ROWS_PER_STATEMENT) {
		out.push(items.slice(start, start + ROWS_PER_STATEMENT));
	}
	return out;
}

/** Every statement but the marks' own writes only if this run moved the marks. */
const OURS = "EXISTS (SELECT 1 FROM insight_marks WHERE id = 1 AND run = ?2)";
const item = (index: number) => `json_extract(value, '$[${index}]')`;

function hourRows(tally: readonly KeyTally[]): unknown[][] {
	return tally.map((key) => {
		const bins = new Array<number>(LATENCY_BINS).fill(0);
		for (const [bin, count] of Object.entries(key.latency)) bins[Number(bin)] = count;
		return [
			hourOf(key.hour * HOUR_MS),
			key.applicationId,
			key.number,
			key.sent,
			key.delivered,
			key.failed,
			key.receivedSms,
			key.receivedMms,
			...bins,
		];
	});
}

function upsertHours(db: D1Database, rows: unknown[][], run: string): D1PreparedStatement {
	const counts = ["sent", "delivered", "failed", "received_sms", "received_mms", ...LATENCY_COLUMNS];
	return db
		.prepare(
			`INSERT INTO insight_hours (hour, application_id, owner, ${counts.join(", ")})
			 SELECT ${[0, 1, 2, ...counts.map((_, index) => index + 3)].map(item).join(", ")}
			 FROM json_each(?1) WHERE ${OURS}
			 ON CONFLICT (hour, application_id, owner) DO UPDATE SET
			 ${counts.map((column) => `${column} = ${column} + excluded.${column}`).join(", ")}`,
		)
		.bind(JSON.stringify(rows), run);
}

function upsertErrors(
	db: D1Database,
	table: "insight_errors" | "insight_minute_errors",
	rows: unknown[][],
	run: string,
) {
	const period = table === "insight_errors" ? "hour" : "minute";
	return db
		.prepare(
			`INSERT INTO ${table} (${period}, application_id, owner, code, count)
			 SELECT ${[0, 1, 2, 3, 4].map(item).join(", ")} FROM json_each(?1) WHERE ${OURS}
			 ON CONFLICT (${period}, application_id, owner, code) DO UPDATE SET count = count + excluded.count`,
		)
		.bind(JSON.stringify(rows), run);
}

function upsertMinutes(db: D1Database, rows: unknown[][], run: string): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO insight_minutes (minute, application_id, owner, delivered, failed)
			 SELECT ${[0, 1, 2, 3, 4].map(item).join(", ")} FROM json_each(?1) WHERE ${OURS}
			 ON CONFLICT (minute, application_id, owner) DO UPDATE SET
			   delivered = delivered + excluded.delivered, failed = failed + excluded.failed`,
		)
		.bind(JSON.stringify(rows), run);
}

/** The receipts of this count by (application, number), for the alerts' window: the minute it was counted in. */
function minuteRows(keys: readonly KeyTally[], minute: number): { receipts: unknown[][]; errors: unknown[][] } {
	const receipts = new Map<string, [number, string, string, number, number]>();
	const errors = new Map<string, [number, string, string, number, number]>();
	for (const key of keys) {
		if (key.delivered + key.failed === 0) continue;
		const id = JSON.stringify([key.applicationId, key.number]);
		const row = receipts.get(id) ?? [minute, key.applicationId, key.number, 0, 0];
		row[3] += key.delivered;
		row[4] += key.failed;
		receipts.set(id, row);
		for (const [code, count] of Object.entries(key.errors)) {
			const errorId = JSON.stringify([key.applicationId, key.number, Number(code)]);
			const errorRow = errors.get(errorId) ?? [minute, key.applicationId, key.number, Number(code), 0];
			errorRow[4] += count;
			errors.set(errorId, errorRow);
		}
	}
	return { receipts: [...receipts.values()], errors: [...errors.values()] };
}

/** The statements of one count: the marks first, then every table's upserts. */
export function countStatements(
	db: D1Database,
	read: InsightMarks,
	marks: Record<string, number>,
	tally: Tally,
	run: string,
	now: number,
): D1PreparedStatement[] {
	const keys = Object.values(tally);
	const errorRows = keys.flatMap((key) =>
		Object.entries(key.errors).map(([code, count]) => [
			hourOf(key.hour * HOUR_MS),
			key.applicationId,
			key.number,
			Number(code),
			count,
		]),
	);
	const minute = minuteRows(keys, Math.floor(now / MINUTE_MS));
	return [
		db
			.prepare("UPDATE insight_marks SET version = version + 1, run = ?2, marks = ?3 WHERE id = 1 AND version = ?1")
			.bind(read.version, run, JSON.stringify(marks)),
		...chunks(hourRows(keys)).map((rows) => upsertHours(db, rows, run)),
		...chunks(errorRows).map((rows) => upsertErrors(db, "insight_errors", rows, run)),
		...chunks(minute.receipts).map((rows) => upsertMinutes(db, rows, run)),
		...chunks(minute.errors).map((rows) => upsertErrors(db, "insight_minute_errors", rows, run)),
	];
}

/**
 * Adds every ledger's handed-out counts to D1 in one batch (see above). Never throws: a failure is
 * logged, and the ledgers hand the same counts out again.
 */
export async function recordInsights(
	db: D1Database,
	read: InsightMarks | null,
	reports: readonly MaintainReport[],
	now: number,
): Promise<RecordedInsights> {
	if (read === null) return { keys: 0, written: false };
	const tally: Tally = {};
	const marks = { ...read.marks };
	for (const report of reports) {
		for (const snapshot of report.insights ?? []) {
			mergeTally(tally, snapshot.tally);
			marks[report.ledger] = Math.max(marks[report.ledger] ?? Number.NEGATIVE_INFINITY, snapshot.through);
		}
	}
	if (isEmptyTally(tally)) return { keys: 0, written: false };
	const keys = Object.keys(tally).length;
	try {
		const [moved] = await db.batch(countStatements(db, read, marks, tally, crypto.randomUUID(), now));
		if ((moved?.meta.changes ?? 0) !== 1) {
			// Another run counted first; what it did not take, the ledgers hand out again.
			log.warn("insights_count_superseded", { version: read.version });
			return { keys, written: false };
		}
		return { keys, written: true };
	} catch (error) {
		log.error("insights_write_failed", { keys, error: errorMessage(error) });
		return { keys, written: false };
	}
}
