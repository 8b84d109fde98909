import type { MeterUnit } from "../src/meter/meter.ts";

/*
 * List prices of every unit the cost meter counts: the typed copy of docs/prices.md (keep the
 * two in step). Prices are what is paid beyond the included amounts; the per-event figures do not
 * subtract the included amounts, which only matter for small deployments.
 */

export const PRICES_READ_ON = "2026-12-01";

/**
 * `included`: as the page says it; `includedPerMonth`: the same as a number, in units (per-unit)
 * or GB-months (storage), for a monthly bill (scripts/capacity.ts) rather than a per-event price.
 */
type Source = { page: string; included: string; includedPerMonth: number };

/** Billed per unit counted (requests, rows, operations, log events). */
type PerUnit = Source & { kind: "per-unit"; usdPerMillion: number };
/** Billed per GB-month held: bytes counted once, held for `holdDays`. */
type Storage = Source & { kind: "storage"; usdPerGbMonth: number; holdDays: number; why: string };

export type Price = PerUnit | Storage;

const GB = 1e9;
const DAYS_PER_MONTH = 30;

/**
 * Workers Logs from 2026-12-01 (Cloudflare Observability pricing): $0.25 per GB ingested and
 * $0.10 per GB-month stored, events kept 7 days. Per event at the docs' average Workers event
 * (4.84 KB, observability/logs/datasets): ≈ $1.32 per million, against $0.60 per million events
 * until 2026-11-30.
 */
const LOG_EVENT_BYTES = 4_840;
const LOG_RETENTION_DAYS = 7;
const LOG_USD_PER_MILLION = ((LOG_EVENT_BYTES * 1e6) / GB) * (0.25 + (0.1 * LOG_RETENTION_DAYS) / DAYS_PER_MONTH);
export const LOG_USD_PER_MILLION_UNTIL_2026_11_30 = 0.6;

const WORKERS = "https://developers.cloudflare.com/workers/platform/pricing/";
const DO = "https://developers.cloudflare.com/durable-objects/platform/pricing/";
const D1 = "https://developers.cloudflare.com/d1/platform/pricing/";
const QUEUES = "https://developers.cloudflare.com/queues/platform/pricing/";
const R2 = "https://developers.cloudflare.com/r2/pricing/";
const LOGS = "https://developers.cloudflare.com/observability/pricing/";
const ANALYTICS_ENGINE = "https://developers.cloudflare.com/analytics/analytics-engine/pricing/";

/** null: counted, not billed. */
export const PRICES: Record<MeterUnit, Price | null> = {
	workerRequests: {
		kind: "per-unit",
		usdPerMillion: 0.3,
		included: "10M/month",
		includedPerMonth: 10e6,
		page: WORKERS,
	},
	doRequests: { kind: "per-unit", usdPerMillion: 0.15, included: "1M/month", includedPerMonth: 1e6, page: DO },
	doRowsWritten: { kind: "per-unit", usdPerMillion: 1, included: "50M/month", includedPerMonth: 50e6, page: DO },
	doRowsRead: { kind: "per-unit", usdPerMillion: 0.001, included: "25B/month", includedPerMonth: 25e9, page: DO },
	doBytesStored: {
		kind: "storage",
		usdPerGbMonth: 0.2,
		holdDays: 6,
		why: "DEDUPE_DAYS' default, plus the day a ledger is still writing (it drops a day's table whole)",
		included: "5 GB-month",
		includedPerMonth: 5,
		page: DO,
	},
	d1RowsWritten: { kind: "per-unit", usdPerMillion: 1, included: "50M/month", includedPerMonth: 50e6, page: D1 },
	d1RowsRead: { kind: "per-unit", usdPerMillion: 0.001, included: "25B/month", includedPerMonth: 25e9, page: D1 },
	d1Writes: null,
	d1BytesStored: {
		kind: "storage",
		usdPerGbMonth: 0.75,
		holdDays: 30,
		why: "RETENTION_DAYS' default",
		included: "5 GB",
		includedPerMonth: 5,
		page: D1,
	},
	queueOps: { kind: "per-unit", usdPerMillion: 0.4, included: "1M/month", includedPerMonth: 1e6, page: QUEUES },
	queueMessages: null,
	r2ClassA: { kind: "per-unit", usdPerMillion: 4.5, included: "1M/month", includedPerMonth: 1e6, page: R2 },
	r2ClassB: { kind: "per-unit", usdPerMillion: 0.36, included: "10M/month", includedPerMonth: 10e6, page: R2 },
	r2BytesWritten: {
		kind: "storage",
		usdPerGbMonth: 0.015,
		holdDays: 400,
		why: "ARCHIVE_RETENTION_DAYS' default",
		included: "10 GB-month",
		includedPerMonth: 10,
		page: R2,
	},
	logLines: {
		kind: "per-unit",
		usdPerMillion: LOG_USD_PER_MILLION,
		included: "50 GB ingested, 12 GB-month stored",
		// 50 GB of ~4.84 KB events; the stored 12 GB-month covers more than 7 days of that.
		includedPerMonth: 50 * (GB / LOG_EVENT_BYTES),
		page: LOGS,
	},
	aeDataPoints: {
		kind: "per-unit",
		usdPerMillion: 0.25,
		included: "10M/month",
		includedPerMonth: 10e6,
		page: ANALYTICS_ENGINE,
	},
	eventsAccepted: null,
};

/** Dollars for one unit counted: one request, one row, or one byte held for the hold. */
export function usdPerUnit(price: Price): number {
	return price.kind === "per-unit"
		? price.usdPerMillion / 1e6
		: (price.usdPerGbMonth / GB) * (price.holdDays / DAYS_PER_MONTH);
}
