import { describeErrorCode } from "../bandwidth/error-codes";
import { HOUR_MS, hourOf } from "../ledger/partitions";
import { LATENCY_COLUMNS, percentileOf } from "./latency-sketch";
import { remediationOf } from "./remediation";

/*
 * GET /v1/insights reads the hourly rollups (migrations/0008): every figure is a sum over the hours
 * in the window, so a query reads (hours × applications × numbers) rows, never an event. Hours are
 * the messages' send hours: a receipt that came later is in its message's hour.
 */

export type Granularity = "hour" | "day";

export interface InsightsQuery {
	/** UTC ISO; the window is the hours from since's hour up to, not including, until. */
	since: string;
	until: string;
	granularity: Granularity;
	applicationId: string | undefined;
	owner: string | undefined;
}

interface Counts {
	sent: number;
	delivered: number;
	failed: number;
	deliveryRate: number | null;
	received: number;
}

export interface Insights {
	since: string;
	until: string;
	granularity: Granularity;
	totals: Counts & {
		receivedSms: number;
		receivedMms: number;
		latencyMs: { p50: number | null; p95: number | null; deliveries: number };
		errorCodes: Array<{
			code: number;
			name: string | null;
			description: string | null;
			category: string;
			count: number;
			remediation: string | null;
		}>;
	};
	series: Array<Counts & { start: string }>;
	numbers: Array<Counts & { owner: string }>;
	applications: Array<Counts & { applicationId: string }>;
}

const DAY_MS = 24 * HOUR_MS;
const ERROR_CODES = 50;
const NUMBERS = 10;
const APPLICATIONS = 20;

type SumRow = { sent: number; delivered: number; failed: number; received_sms: number; received_mms: number };

function countsOf(row: Partial<SumRow> | undefined): Counts {
	const delivered = row?.delivered ?? 0;
	const failed = row?.failed ?? 0;
	return {
		sent: row?.sent ?? 0,
		delivered,
		failed,
		deliveryRate: delivered + failed === 0 ? null : delivered / (delivered + failed),
		received: (row?.received_sms ?? 0) + (row?.received_mms ?? 0),
	};
}

const SUMS =
	"sum(sent) AS sent, sum(delivered) AS delivered, sum(failed) AS failed, sum(received_sms) AS received_sms, sum(received_mms) AS received_mms";

/** The period starts of the series, from since's period to the last one before until. */
function periods(query: InsightsQuery): number[] {
	const step = query.granularity === "hour" ? HOUR_MS : DAY_MS;
	const since = Date.parse(query.since);
	const first = since - (since % step);
	const starts: number[] = [];
	for (let start = first; start < Date.parse(query.until); start += step) starts.push(start);
	return starts;
}

export async function readInsights(db: D1Database, query: InsightsQuery): Promise<Insights> {
	const sinceMs = Date.parse(query.since);
	const firstHour = hourOf(sinceMs - (sinceMs % HOUR_MS));
	const lastHour = hourOf(Date.parse(query.until) - 1);
	// ?1 ?2 the hours; ?3 ?4 the filters (NULL: any).
	const where = "hour >= ?1 AND hour <= ?2 AND (?3 IS NULL OR application_id = ?3) AND (?4 IS NULL OR owner = ?4)";
	const bind = (statement: D1PreparedStatement) =>
		statement.bind(firstHour, lastHour, query.applicationId ?? null, query.owner ?? null);
	const period = query.granularity === "hour" ? "hour" : "substr(hour, 1, 10)";
	const [series, latency, errors, numbers, applications] = await db.batch<Record<string, unknown>>([
		bind(db.prepare(`SELECT ${period} AS period, ${SUMS} FROM insight_hours WHERE ${where} GROUP BY period`)),
		bind(
			db.prepare(
				`SELECT ${LATENCY_COLUMNS.map((c) => `sum(${c}) AS ${c}`).join(", ")} FROM insight_hours WHERE ${where}`,
			),
		),
		bind(
			db.prepare(
				`SELECT code, sum(count) AS count FROM insight_errors WHERE ${where} GROUP BY code ORDER BY count DESC, code LIMIT ${ERROR_CODES}`,
			),
		),
		bind(
			db.prepare(
				`SELECT owner, ${SUMS} FROM insight_hours WHERE ${where} GROUP BY owner
				 ORDER BY failed DESC, sent DESC, owner LIMIT ${NUMBERS}`,
			),
		),
		bind(
			db.prepare(
				`SELECT application_id, ${SUMS} FROM insight_hours WHERE ${where} GROUP BY application_id
				 ORDER BY sent + received_sms + received_mms DESC, application_id LIMIT ${APPLICATIONS}`,
			),
		),
	]);

	const byPeriod = new Map(
		((series?.results ?? []) as Array<SumRow & { period: string }>).map((row) => [row.period, row]),
	);
	const seriesOut = periods(query).map((start) => {
		const key = query.granularity === "hour" ? hourOf(start) : new Date(start).toISOString().slice(0, 10);
		return { start: new Date(start).toISOString(), ...countsOf(byPeriod.get(key)) };
	});
	const total = [...byPeriod.values()].reduce<SumRow>(
		(sum, row) => ({
			sent: sum.sent + row.sent,
			delivered: sum.delivered + row.delivered,
			failed: sum.failed + row.failed,
			received_sms: sum.received_sms + row.received_sms,
			received_mms: sum.received_mms + row.received_mms,
		}),
		{ sent: 0, delivered: 0, failed: 0, received_sms: 0, received_mms: 0 },
	);
	const latencyRow = (latency?.results?.[0] ?? {}) as Record<string, number | null>;
	const bins = LATENCY_COLUMNS.map((column) => latencyRow[column] ?? 0);

	return {
		since: query.since,
		until: query.until,
		granularity: query.granularity,
		totals: {
			...countsOf(total),
			receivedSms: total.received_sms,
			receivedMms: total.received_mms,
			latencyMs: {
				p50: percentileOf(bins, 0.5),
				p95: percentileOf(bins, 0.95),
				deliveries: bins.reduce((sum, count) => sum + count, 0),
			},
			errorCodes: ((errors?.results ?? []) as Array<{ code: number; count: number }>).map(({ code, count }) => {
				const described = describeErrorCode(code);
				return {
					code,
					name: code === 0 ? null : described.name,
					description: code === 0 ? "message-failed without an errorCode" : described.description,
					category: described.category,
					count,
					remediation: remediationOf(code),
				};
			}),
		},
		series: seriesOut,
		numbers: ((numbers?.results ?? []) as Array<SumRow & { owner: string }>).map((row) => ({
			owner: row.owner,
			...countsOf(row),
		})),
		applications: ((applications?.results ?? []) as Array<SumRow & { application_id: string }>).map((row) => ({
			applicationId: row.application_id,
			...countsOf(row),
		})),
	};
}
