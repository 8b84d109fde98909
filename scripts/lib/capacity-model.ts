import { PRICES, type Price } from "../../bench/prices.ts";
import type { MeterCounts, MeterUnit } from "../../src/meter/meter.ts";

/*
 * What the relay asks of each production limit at a given rate, and what a month costs: the
 * per-event figures the bench measured (bench/results.json, the cost meter's units per event)
 * times the rate, against Cloudflare's published limits (docs/capacity.md §2 cites each). Pure:
 * scripts/capacity.ts reads the files and prints; test/e2e/capacity.test.ts checks the arithmetic.
 */

export const DAY_SECONDS = 86_400;
export const MONTH_SECONDS = 30 * DAY_SECONDS;
const GB = 1e9;

/** Workers lets an invocation wait for headers on 6 connections; the consumer holds itself to that. */
export const CONNECTIONS_PER_INVOCATION = 6;
/** src/routes/ingest.route.ts MAX_BATCH_ELEMENTS: the largest callback, for per-invocation limits. */
export const MAX_CALLBACK_EVENTS = 1000;
/** Queues: at most 100 messages per sendBatch; D1 batches of at most 100 rows (src/ledger/copy-out.ts). */
const PER_SEND_BATCH = 100;
/** The archive writes each object once an hour (under a name fixed by hour, ledger and part). */
const ARCHIVE_WRITES_PER_KEY_PER_SECOND = 1 / 3600;

export interface Settings {
	/** LEDGER_BUCKETS (the count new messages hash over). */
	buckets: number;
	dedupeDays: number;
	retentionDays: number;
	d1BudgetBytes: number;
	/** How long the customer's endpoint takes to answer a forward. */
	postSeconds: number;
}

export const DEFAULT_SETTINGS: Settings = {
	buckets: 64,
	dedupeDays: 5,
	retentionDays: 30,
	d1BudgetBytes: 8_000 * 1_000_000,
	postSeconds: 0.5,
};

/** Units per event as the bench measured them; a unit a results file predates is absent. */
export type PerEvent = Partial<MeterCounts>;

export interface LimitRow {
	limit: string;
	/** Per event, or per invocation: what the load is made of. */
	use: string;
	/** The limit's value, in the load's unit. */
	capacity: number;
	unit: string;
	/** The load at the rate; null when the results do not hold the unit it needs. */
	load: number | null;
	/** load ÷ capacity. */
	utilization: number | null;
	/** Whether the load grows with the rate (false: per invocation, bounded by the code). */
	scales: boolean;
	/** Whether passing 100 % fails something (false: the relay sheds it by design, as D1's budget evicts). */
	fails: boolean;
	/** What the load means, when the percentage alone would not say it. */
	detail: string | null;
	note: string;
}

function perEventOf(perEvent: PerEvent, unit: MeterUnit): number | null {
	const value = perEvent[unit];
	return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function row(fields: Omit<LimitRow, "utilization" | "detail"> & { detail?: string | null }): LimitRow {
	return { detail: null, ...fields, utilization: fields.load === null ? null : fields.load / fields.capacity };
}

/** Queue messages per event: counted by newer results; older ones had only operations (3 per small message). */
export function messagesPerEvent(perEvent: PerEvent): number | null {
	const counted = perEventOf(perEvent, "queueMessages");
	if (counted !== null) return counted;
	const operations = perEventOf(perEvent, "queueOps");
	return operations === null ? null : operations / 3;
}

export function limitsAt(rate: number, perEvent: PerEvent, settings: Settings = DEFAULT_SETTINGS): LimitRow[] {
	const doRequests = perEventOf(perEvent, "doRequests");
	const doBytes = perEventOf(perEvent, "doBytesStored");
	const d1Bytes = perEventOf(perEvent, "d1BytesStored");
	const d1Writes = perEventOf(perEvent, "d1Writes");
	const messages = messagesPerEvent(perEvent);
	const times = (value: number | null, factor: number) => (value === null ? null : value * factor);
	const ledgerHoldSeconds = (settings.dedupeDays + 1) * DAY_SECONDS;
	return [
		row({
			limit: "Durable Object requests, per ledger bucket",
			use: `${fmt(doRequests, 2)} DO requests per event, over ${settings.buckets} buckets`,
			capacity: 1000,
			unit: "req/s",
			load: times(doRequests, rate / settings.buckets),
			scales: true,
			fails: true,
			note: "soft limit; past it requests queue, then fail overloaded",
		}),
		row({
			limit: "Durable Object storage, per ledger bucket",
			use: `${fmt(doBytes, 0)} B per event held DEDUPE_DAYS + 1 = ${settings.dedupeDays + 1} days`,
			capacity: 10 * GB,
			unit: "bytes",
			load: times(doBytes, (rate * ledgerHoldSeconds) / settings.buckets),
			scales: true,
			fails: true,
			note:
				"past it the bucket's writes fail (SQLITE_FULL); the bench's growth per event comes from short rounds that start " +
				"a day table in every bucket with a few events each, more than a full bucket takes " +
				"(test/ledger/row-size.test.ts: 796–902 B at 100 events per bucket)",
		}),
		row({
			limit: "D1 storage (D1_BUDGET_MB of its 10 GB), one database",
			use: `${fmt(d1Bytes, 0)} B per event for RETENTION_DAYS = ${settings.retentionDays}`,
			capacity: settings.d1BudgetBytes,
			unit: "bytes",
			load: times(d1Bytes, rate * settings.retentionDays * DAY_SECONDS),
			scales: true,
			fails: false,
			detail:
				d1Bytes === null
					? null
					: `${fmt(Math.min(settings.retentionDays, settings.d1BudgetBytes / (d1Bytes * rate * DAY_SECONDS)), 1)} of ${settings.retentionDays} days held`,
			note: "past 100 % the budget evicts the oldest day's events (once archived and found by their ledgers): D1 holds fewer days of history, the archive the rest",
		}),
		row({
			limit: "D1 write transactions, one database",
			use: `${fmt(d1Writes, 2)} writing calls (statement or batch) per event`,
			capacity: 1000,
			unit: "tx/s",
			load: times(d1Writes, rate),
			scales: true,
			fails: true,
			note: "one writer; ~1 ms a query gives ~1,000/s (D1 limits FAQ); past it queries queue, then fail overloaded",
		}),
		row({
			limit: "Queue messages, one queue",
			use: `${fmt(messages, 2)} messages per event`,
			capacity: 5000,
			unit: "msg/s",
			load: times(messages, rate),
			scales: true,
			fails: true,
			note: "past it send() throws Too Many Requests",
		}),
		row({
			limit: "Concurrent consumer invocations, one queue",
			use: `${fmt(messages, 2)} messages per event, ${CONNECTIONS_PER_INVOCATION} POSTs at a time per invocation, ${settings.postSeconds} s per POST`,
			capacity: 250,
			unit: "invocations",
			load: times(messages, (rate * settings.postSeconds) / CONNECTIONS_PER_INVOCATION),
			scales: true,
			fails: true,
			note: "past it the backlog grows (25 GB a queue)",
		}),
		row({
			limit: "Connections waiting for headers, per invocation",
			use: "the consumer runs at most 6 POSTs at once (src/forward/forward-batch.ts)",
			capacity: CONNECTIONS_PER_INVOCATION,
			unit: "connections",
			load: CONNECTIONS_PER_INVOCATION,
			scales: false,
			fails: true,
			note: "held by the code at every rate; it is what sets the consumer row above",
		}),
		row({
			limit: "Subrequests, per callback invocation",
			use: `a ${MAX_CALLBACK_EVENTS}-event callback: accept per bucket touched and its report after a failed copy, queue and D1 batches of 100`,
			capacity: 10_000,
			unit: "subrequests",
			load:
				2 * Math.min(MAX_CALLBACK_EVENTS, settings.buckets) + 2 * Math.ceil(MAX_CALLBACK_EVENTS / PER_SEND_BATCH) + 1,
			scales: false,
			fails: true,
			note: "Workers Paid default (configurable to 10M); rate-independent",
		}),
		row({
			limit: "R2 writes, per object key",
			use: "the archive writes each (hour, bucket, part) object once",
			capacity: 1,
			unit: "writes/s",
			load: ARCHIVE_WRITES_PER_KEY_PER_SECOND,
			scales: false,
			fails: true,
			note: "rate-independent: more events make larger or more parts, not more writes per key",
		}),
	];
}

/**
 * The limit that fails first as the rate grows: of those that grow with it and fail past 100 %,
 * the most used one if it is past 100 % at this rate; null when none is.
 */
export function bindsFirst(rows: readonly LimitRow[]): LimitRow | null {
	const over = rows.filter((item) => item.scales && item.fails && (item.utilization ?? 0) >= 1);
	return over.sort((a, b) => (b.utilization ?? 0) - (a.utilization ?? 0))[0] ?? null;
}

/** The rate at which a row that grows with it reaches 100 %; null for the others or without figures. */
export function rateAtLimit(row: LimitRow, rate: number): number | null {
	if (!row.scales || row.utilization === null || row.utilization === 0) return null;
	return rate / row.utilization;
}

export interface BillLine {
	unit: MeterUnit | "subscription";
	/** Units a month (per-unit), or GB held on average (storage). */
	quantity: number | null;
	usd: number | null;
}

/** Per-unit: what a month bills beyond the included amount. Storage: GB held, beyond the included GB-months. */
function priced(price: Price, quantity: number): number {
	if (price.kind === "per-unit") return (Math.max(0, quantity - price.includedPerMonth) * price.usdPerMillion) / 1e6;
	return Math.max(0, quantity - price.includedPerMonth) * price.usdPerGbMonth;
}

/**
 * GB an event's bytes keep held in steady state at `rate`: D1's for RETENTION_DAYS, up to its
 * budget; a ledger's for DEDUPE_DAYS and the day being written; R2's for its hold in bench/prices.ts.
 */
function heldGb(
	unit: MeterUnit,
	price: Extract<Price, { kind: "storage" }>,
	bytesPerEvent: number,
	rate: number,
	settings: Settings,
): number {
	const days =
		unit === "d1BytesStored"
			? settings.retentionDays
			: unit === "doBytesStored"
				? settings.dedupeDays + 1
				: price.holdDays;
	const held = bytesPerEvent * rate * days * DAY_SECONDS;
	return (unit === "d1BytesStored" ? Math.min(held, settings.d1BudgetBytes) : held) / GB;
}

/**
 * A month at `rate`, list prices, included amounts subtracted: every priced unit the bench measured
 * per event, the cron (one invocation a minute, one maintain call per bucket), and the Workers Paid
 * subscription. Units the results lack are null (not guessed).
 */
export function monthlyBill(rate: number, perEvent: PerEvent, settings: Settings = DEFAULT_SETTINGS): BillLine[] {
	const events = rate * MONTH_SECONDS;
	const minutes = MONTH_SECONDS / 60;
	const lines: BillLine[] = [];
	for (const [unit, price] of Object.entries(PRICES) as Array<[MeterUnit, Price | null]>) {
		if (price === null) continue;
		const value = perEventOf(perEvent, unit);
		if (value === null) {
			lines.push({ unit, quantity: null, usd: null });
			continue;
		}
		const fixed = unit === "workerRequests" ? minutes : unit === "doRequests" ? minutes * settings.buckets : 0;
		const quantity = price.kind === "per-unit" ? value * events + fixed : heldGb(unit, price, value, rate, settings);
		lines.push({ unit, quantity, usd: priced(price, quantity) });
	}
	lines.push({ unit: "subscription", quantity: 1, usd: 5 });
	return lines;
}

export function billTotal(lines: readonly BillLine[]): number {
	return lines.reduce((sum, line) => sum + (line.usd ?? 0), 0);
}

export function fmt(value: number | null, digits: number): string {
	if (value === null || !Number.isFinite(value)) return "—";
	return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
