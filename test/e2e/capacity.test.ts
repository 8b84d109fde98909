import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PRICES } from "../../bench/prices.ts";
import {
	bindsFirst,
	DEFAULT_SETTINGS,
	limitsAt,
	MONTH_SECONDS,
	monthlyBill,
	type PerEvent,
	rateAtLimit,
} from "../../scripts/lib/capacity-model.ts";
import { END, markdownReport, START, withSection } from "../../scripts/lib/capacity-report.ts";
import { METER_UNITS } from "../../src/meter/meter.ts";

/** Per-event figures shaped like a bench run's (bench/results.json, scenario saturating). */
const MEASURED: PerEvent = {
	workerRequests: 1.04,
	doRequests: 2,
	doRowsWritten: 2,
	doBytesStored: 900,
	d1RowsWritten: 3,
	d1BytesStored: 1000,
	d1Writes: 1.04,
	queueOps: 3,
	queueMessages: 1,
	aeDataPoints: 1.04,
};

const byLimit = (rate: number, perEvent: PerEvent = MEASURED) =>
	Object.fromEntries(limitsAt(rate, perEvent).map((row) => [row.limit, row]));

describe("the capacity model", () => {
	it("multiplies each measured per-event use by the rate, against each limit", () => {
		const rows = byLimit(1000);
		expect(rows["Durable Object requests, per ledger bucket"]).toMatchObject({
			load: 31.25,
			utilization: 31.25 / 1000,
		});
		// 900 B × 1,000/s × 6 days over 64 buckets.
		expect(rows["Durable Object storage, per ledger bucket"]?.load).toBeCloseTo((900 * 1000 * 6 * 86_400) / 64, 3);
		expect(rows["D1 write transactions, one database"]).toMatchObject({ load: 1040, utilization: 1.04 });
		expect(rows["Queue messages, one queue"]).toMatchObject({ load: 1000, utilization: 0.2 });
		expect(rows["Concurrent consumer invocations, one queue"]?.load).toBeCloseTo((1000 * 0.5) / 6, 6);
		expect(rows["D1 storage (D1_BUDGET_MB of its 10 GB), one database"]?.detail).toBe("0.1 of 30 days held");
	});

	it("names the limit that fails first, and the rate where each one is reached", () => {
		expect(bindsFirst(limitsAt(100, MEASURED))).toBeNull();
		// D1's budget is past 100 % at 100 ev/s too, but it evicts by design: it never fails.
		expect(bindsFirst(limitsAt(1000, MEASURED))?.limit).toBe("D1 write transactions, one database");
		const rows = byLimit(1000);
		expect(rateAtLimit(rows["D1 write transactions, one database"]!, 1000)).toBeCloseTo(1000 / 1.04, 6);
		expect(rateAtLimit(rows["Queue messages, one queue"]!, 1000)).toBe(5000);
		expect(rateAtLimit(rows["Subrequests, per callback invocation"]!, 1000)).toBeNull();
		const more = limitsAt(1000, MEASURED, { ...DEFAULT_SETTINGS, buckets: 128 });
		expect(more.find((row) => row.limit.startsWith("Durable Object requests"))?.load).toBeCloseTo(15.625, 6);
	});

	it("leaves a unit the results do not hold unmeasured, and never guesses it", () => {
		const older: PerEvent = { doRequests: 2, d1BytesStored: 1000, queueOps: 3 };
		const rows = byLimit(1000, older);
		expect(rows["Durable Object storage, per ledger bucket"]).toMatchObject({ load: null, utilization: null });
		expect(rows["D1 write transactions, one database"]).toMatchObject({ load: null });
		// Queue messages from operations: three per message under 64 KB.
		expect(rows["Queue messages, one queue"]?.load).toBe(1000);
		expect(monthlyBill(1000, older).find((line) => line.unit === "doBytesStored")).toEqual({
			unit: "doBytesStored",
			quantity: null,
			usd: null,
		});
	});

	it("bills a month at list prices, included amounts subtracted, with the cron and the subscription", () => {
		const rate = 1000;
		const bill = Object.fromEntries(monthlyBill(rate, MEASURED).map((line) => [line.unit, line]));
		const events = rate * MONTH_SECONDS;
		const minutes = MONTH_SECONDS / 60;
		expect(bill.workerRequests?.quantity).toBeCloseTo(1.04 * events + minutes, 3);
		expect(bill.workerRequests?.usd).toBeCloseTo(((1.04 * events + minutes - 10e6) * 0.3) / 1e6, 6);
		expect(bill.doRequests?.quantity).toBeCloseTo(2 * events + 64 * minutes, 3);
		expect(bill.aeDataPoints?.usd).toBeCloseTo(((1.04 * events - 10e6) * 0.25) / 1e6, 6);
		// D1 holds its budget, not 30 days of events: 8 GB, less the 5 GB included, at $0.75.
		expect(bill.d1BytesStored?.usd).toBeCloseTo(3 * 0.75, 6);
		// A ledger holds 6 days: 900 B × 1,000/s × 6 days = 466.56 GB, less 5 included, at $0.20.
		expect(bill.doBytesStored?.usd).toBeCloseTo((466.56 - 5) * 0.2, 6);
		expect(bill.subscription?.usd).toBe(5);
		expect(Object.keys(bill)).toEqual([
			...Object.keys(PRICES).filter((unit) => PRICES[unit as keyof typeof PRICES]),
			"subscription",
		]);
		// Below the included amounts, only the subscription and the cron's share remain.
		const small = monthlyBill(0.001, MEASURED);
		expect(small.find((line) => line.unit === "workerRequests")?.usd).toBe(0);
	});

	it("replaces only its own section of a document", () => {
		const section = markdownReport([10, 100], MEASURED, DEFAULT_SETTINGS, {
			file: "bench/results.json",
			generated: "2026-12-02T00:00:00.000Z",
			command: "npm run bench",
			scenario: "saturating",
		});
		expect(section.startsWith(START) && section.endsWith(END)).toBe(true);
		const document = `# Plan\n\nBefore.\n\n${START}\nold\n${END}\n\nAfter.\n`;
		expect(withSection(document, section)).toBe(`# Plan\n\nBefore.\n\n${section}\n\nAfter.\n`);
		expect(withSection("# Plan\n", section)).toBe(`# Plan\n\n${section}\n`);
	});
});

describe("npm run capacity", () => {
	it("reads the per-event figures from the results file it is given", () => {
		const dir = mkdtempSync(join(tmpdir(), "capacity-"));
		const results = join(dir, "results.json");
		const perEvent = { ...MEASURED, doRequests: 4 };
		writeFileSync(
			results,
			JSON.stringify({
				command: "npm run bench",
				environment: { date: "2026-12-02T00:00:00.000Z" },
				scenarios: [{ id: "saturating", workers: { relay: { cost: { perEvent } } } }],
			}),
		);
		const output = execFileSync(process.execPath, ["scripts/capacity.ts", "--rate", "1000", "--results", results], {
			encoding: "utf8",
		});
		expect(output).toContain("Capacity at 1,000 events/s");
		expect(output).toContain("4.00 DO requests per event, over 64 buckets");
		expect(output).toMatch(/62\.50? req\/s \(6\.3 %\)|63 req\/s \(6\.3 %\)/);
		expect(output).toContain("Binds first: D1 write transactions, one database");
		expect(output).not.toContain("All-in");
	});

	it("prices the steady state's all-in at the rate, when the results have it", () => {
		const dir = mkdtempSync(join(tmpdir(), "capacity-"));
		const results = join(dir, "results.json");
		const zero = Object.fromEntries(METER_UNITS.map((unit) => [unit, 0]));
		// One D1 row written to insert and one to evict: $2 per million, storage and the rest at nothing.
		const relay = {
			firstPass: { ...zero, d1RowsWritten: 1 },
			ledgerBytesPerEvent: 0,
			lifecycle: {
				evictedEvents: 10,
				droppedEvents: 10,
				perEvictedEvent: { ...zero, d1RowsWritten: 1 },
				perDroppedEvent: zero,
				perEvent: zero,
				perBucketHour: zero,
				perBucketDay: zero,
				archive: null,
			},
			cronPerMonth: zero,
		};
		writeFileSync(
			results,
			JSON.stringify({
				scenarios: [{ id: "saturating", workers: { relay: { cost: { perEvent: MEASURED } } } }],
				steadyState: { relay },
			}),
		);
		const run = (rate: string) =>
			execFileSync(process.execPath, ["scripts/capacity.ts", "--rate", rate, "--results", results], {
				encoding: "utf8",
			});
		// No D1 bytes, so the budget never binds: events leave by retention's drop, no row written, $1 in all.
		expect(run("1000")).toMatch(/All-in per million events .*: \$1\.00\n/);
		relay.firstPass = { ...relay.firstPass, d1BytesStored: 1000 };
		writeFileSync(
			results,
			JSON.stringify({
				scenarios: [{ id: "saturating", workers: { relay: { cost: { perEvent: MEASURED } } } }],
				steadyState: { relay },
			}),
		);
		// 1,000 B × 1,000/s: 8 GB last 0.093 days, 37 % of a quarter's traffic, so the budget deletes 63 %
		// of the events row by row and drops the rest with their quarter: $1 + $0.63 + D1 storage.
		expect(run("1000")).toMatch(/All-in per million events .*: \$1\.6\d\n/);
	});
});
