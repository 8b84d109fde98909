import { describe, expect, it } from "vitest";
import {
	type AllInInput,
	allInAt,
	archiveObjectsPerBucketHour,
	budgetRowShare,
	cronPerMonth,
	DEFAULT_LIFE_SETTINGS,
	d1HoldDaysAt,
	type Lifecycle,
	leavingWay,
	zeroCounts,
} from "../../bench/all-in.ts";
import type { MeterCounts } from "../../src/meter/meter.ts";

/*
 * The arithmetic of the bench's all-in steady-state price (bench/all-in.ts), on hand-made inputs
 * whose dollars are worked out here from the list prices (bench/prices.ts): $0.30 per million
 * Worker requests, $0.15 DO requests, $1 DO and D1 rows written, $0.001 rows read, $0.40 queue
 * operations, $4.50 R2 Class A; $0.20 per GB-month of DO storage, $0.75 of D1, $0.015 of R2.
 * Node only, no runtime: the measuring is bench/steady-state.ts's.
 */

const MONTH_SECONDS = 30 * 86_400;

function counts(units: Partial<MeterCounts>): MeterCounts {
	return { ...zeroCounts(), ...units };
}

const LIFECYCLE: Lifecycle = {
	evictedEvents: 10,
	droppedEvents: 5,
	perEvictedEvent: counts({ d1RowsWritten: 1, d1Writes: 0.01 }),
	perDroppedEvent: zeroCounts(),
	perEvent: counts({ d1RowsRead: 2 }),
	perBucketHour: counts({ doRequests: 1 }),
	perBucketDay: counts({ doRowsWritten: 10 }),
	archive: { storedBytesPerEvent: 300, ndjsonBytesPerEvent: 1000, objectsPerBucketHour: 1 },
};

const INPUT: AllInInput = {
	// Storage units here are not billed per use: D1's bytes are held as long as D1 keeps them, and
	// the ledger's are ledgerBytesPerEvent (the 5,000 below must not count).
	firstPass: counts({ workerRequests: 2, d1RowsWritten: 1, queueOps: 3, d1BytesStored: 1000, doBytesStored: 5000 }),
	ledgerBytesPerEvent: 1000,
	lifecycle: LIFECYCLE,
	cronPerMonth: counts({ workerRequests: 43_200 }),
};

describe("d1HoldDaysAt", () => {
	it("holds RETENTION_DAYS and the eighth of a day a quarter's table waits to go whole, while the budget allows", () => {
		// 1,000 B × 1 event/s × 86,400 s = 86.4 MB a day: 8,000 MB last 92 days.
		expect(d1HoldDaysAt(1, 1000, DEFAULT_LIFE_SETTINGS)).toBe(30.125);
	});

	it("holds what D1_BUDGET_MB allows once the budget binds, less a quarter day's traffic on average as quarters go whole", () => {
		// 1,000 B × 100/s × 86,400 s = 8.64 GB a day against 8 GB: between B − ¼ and B held.
		expect(d1HoldDaysAt(100, 1000, DEFAULT_LIFE_SETTINGS)).toBeCloseTo(8e9 / 8.64e9 - 0.125, 12);
		// 1,000 B × 10/s = 864 MB a day: 8 GB hold 9.26 days.
		expect(d1HoldDaysAt(10, 1000, DEFAULT_LIFE_SETTINGS)).toBeCloseTo(8e9 / 8.64e8 - 0.125, 12);
	});

	it("holds the budget itself when it holds less than a quarter's traffic", () => {
		expect(d1HoldDaysAt(100, 1000, { ...DEFAULT_LIFE_SETTINGS, d1BudgetBytes: 1e6 })).toBeCloseTo(1e6 / 8.64e9, 15);
	});

	it("falls back to retention with no bytes or no traffic", () => {
		expect(d1HoldDaysAt(0, 1000, DEFAULT_LIFE_SETTINGS)).toBe(30.125);
		expect(d1HoldDaysAt(100, 0, DEFAULT_LIFE_SETTINGS)).toBe(30.125);
	});
});

describe("archiveObjectsPerBucketHour", () => {
	it("writes one object for a bucket's hour however little it holds", () => {
		expect(archiveObjectsPerBucketHour(1, 500, 64)).toBe(1);
	});

	it("writes one more for every 8 MiB of NDJSON begun", () => {
		// One event a bucket-hour (1/s over 3,600 buckets) of exactly 8 MiB, then one byte more.
		expect(archiveObjectsPerBucketHour(1, 8 * 1024 * 1024, 3600)).toBe(1);
		expect(archiveObjectsPerBucketHour(1, 8 * 1024 * 1024 + 1, 3600)).toBe(2);
		// 10,000/s over 64 buckets: 562,500 events of 1,000 B = 562.5 MB an hour, 67.06 × 8 MiB.
		expect(archiveObjectsPerBucketHour(10_000, 1000, 64)).toBe(68);
	});
});

describe("cronPerMonth", () => {
	const minute = counts({ workerRequests: 1, doRequests: 64, r2ClassB: 1 });
	const hour = counts({ workerRequests: 1, doRequests: 64, r2ClassA: 2, r2ClassB: 0 });

	it("counts 60 runs an hour for 720 hours, and each hour's first run's extra once", () => {
		const month = cronPerMonth(minute, hour);
		expect(month.workerRequests).toBe(720 * 60);
		expect(month.doRequests).toBe(720 * 60 * 64);
		expect(month.r2ClassA).toBe(720 * 2);
		// An hour's run that spent less of a unit than a minute's adds nothing (not a negative).
		expect(month.r2ClassB).toBe(720 * 60);
	});

	it("counts one run an hour when told so (the floor's)", () => {
		const month = cronPerMonth(minute, minute, 1);
		expect(month.workerRequests).toBe(720);
		expect(month.doRequests).toBe(720 * 64);
	});
});

describe("allInAt", () => {
	// 100 events/s: 259.2 million a month; 64 buckets × 720 hours, 64 × 30 days.
	const eventsPerMonth = 100 * MONTH_SECONDS;
	const expected = {
		"first pass": 2 * 0.3 + 1 * 1 + 3 * 0.4,
		// The budget binds at 100/s with 1,000 B an event, and drops whole quarters: no row written, the reads.
		"leaving D1": 2 * 0.001,
		"archive objects": ((1 * 64 * 720) / eventsPerMonth) * 4.5,
		"hours archived, days dropped": ((64 * 720) / eventsPerMonth) * 0.15 + ((10 * 64 * 30) / eventsPerMonth) * 1,
		cron: (43_200 / eventsPerMonth) * 0.3,
		// 1,000 B for the 0.926 days 8 GB hold at 8.64 GB a day (0.801 on average), at $0.75 per GB-month.
		"D1 storage": 1000 * 1e-9 * 0.75 * ((8e9 / 8.64e9 - 0.125) / 30) * 1e6,
		"ledger storage": 1000 * 1e-9 * 0.2 * (5.5 / 30) * 1e6,
		"archive storage": 300 * 1e-9 * 0.015 * (400 / 30) * 1e6,
	};

	it("prices every item per million events, and the total is their sum", () => {
		const result = allInAt(100, INPUT);
		for (const [item, usd] of Object.entries(expected)) {
			expect(result.byItem[item as keyof typeof expected], item).toBeCloseTo(usd, 9);
		}
		const total = Object.values(expected).reduce((sum, usd) => sum + usd, 0);
		expect(result.usdPerMillionEvents).toBeCloseTo(total, 9);
		expect(result).toMatchObject({
			rate: 100,
			budgetBinds: true,
			leavingMeasured: true,
			archiveObjectsPerBucketHour: 1,
		});
		expect(result.d1HoldDays).toBeCloseTo(8e9 / 8.64e9 - 0.125, 12);
	});

	it("adds up the units per event from every source, storage as bytes counted", () => {
		const { perEvent } = allInAt(100, INPUT);
		expect(perEvent.d1RowsWritten).toBeCloseTo(1, 12);
		expect(perEvent.workerRequests).toBeCloseTo(2 + 43_200 / eventsPerMonth, 12);
		expect(perEvent.r2ClassA).toBeCloseTo((64 * 720) / eventsPerMonth, 12);
		expect(perEvent.r2BytesWritten).toBe(300);
		expect(perEvent.d1BytesStored).toBe(1000);
	});

	it("takes retention's drop, which writes no row, where the budget does not bind", () => {
		const result = allInAt(1, INPUT);
		expect(result.budgetBinds).toBe(false);
		expect(result.d1HoldDays).toBe(30.125);
		expect(result.byItem["leaving D1"]).toBeCloseTo(2 * 0.001, 12);
		expect(result.byItem["D1 storage"]).toBeCloseTo(1000 * 1e-9 * 0.75 * (30.125 / 30) * 1e6, 12);
		// 3,600 bucket-hours' fixed work spread over 100 times fewer events.
		expect(result.byItem.cron).toBeCloseTo(expected.cron * 100, 9);
	});

	it("drops whole quarters where the budget holds a quarter's traffic or more, and row-deletes 1 − Q of a quarter below", () => {
		expect([0, 0.05, 0.125, 0.1875, 0.25, 1, 9].map(budgetRowShare)).toEqual([1, 0.8, 0.5, 0.25, 0, 0, 0]);
		const atTen = allInAt(10, INPUT);
		expect(atTen).toMatchObject({ budgetBinds: true, rowDeletedShare: 0 });
		expect(atTen.byItem["leaving D1"]).toBeCloseTo(2 * 0.001, 12);
		expect(atTen.perEvent.d1RowsWritten).toBeCloseTo(1, 12);
		// A budget of half a quarter's traffic: half of each quarter row by row, the rest whole.
		const between = allInAt(8e9 / (1000 * 86_400 * 0.125), INPUT);
		expect(between.rowDeletedShare).toBeCloseTo(0.5, 12);
		expect(between.byItem["leaving D1"]).toBeCloseTo(0.5 * 1 + 2 * 0.001, 9);
		// Both ways out are priced there: neither may be unmeasured.
		expect(
			allInAt(8e9 / (1000 * 86_400 * 0.125), { ...INPUT, lifecycle: { ...LIFECYCLE, droppedEvents: 0 } })
				.leavingMeasured,
		).toBe(false);
	});

	it("names the way out, a share of whole tables however small", () => {
		expect(leavingWay({ budgetBinds: false, rowDeletedShare: 0 })).toBe("retention's DROP TABLE");
		expect(leavingWay({ budgetBinds: true, rowDeletedShare: 1 })).toBe("the budget's row-by-row delete");
		expect(leavingWay({ budgetBinds: true, rowDeletedShare: 0 })).toBe("the budget's whole-table DROP TABLE");
		expect(leavingWay({ budgetBinds: true, rowDeletedShare: 0.9997 })).toBe(
			"the budget: 99.97 % row by row, the rest whole tables",
		);
		expect(leavingWay({ budgetBinds: true, rowDeletedShare: 0.4 })).toBe(
			"the budget: 40 % row by row, the rest whole tables",
		);
	});

	it("says the way out was not measured when no event left D1 that way", () => {
		const none = { ...INPUT, lifecycle: { ...LIFECYCLE, evictedEvents: 0 } };
		// 1,000 events/s: a budget of a tenth of a day, less than a quarter's traffic, deletes row by row.
		expect(allInAt(1000, none).leavingMeasured).toBe(false);
		expect(allInAt(100, none).leavingMeasured).toBe(true);
		expect(allInAt(1, none).leavingMeasured).toBe(true);
		const noDrops = { ...INPUT, lifecycle: { ...LIFECYCLE, droppedEvents: 0 } };
		expect(allInAt(1, noDrops).leavingMeasured).toBe(false);
	});

	it("holds D1 for the days it is given (the floor: the relay's), leaving by retention's drop", () => {
		const result = allInAt(100, { ...INPUT, d1HoldDays: 2 });
		expect(result).toMatchObject({ d1HoldDays: 2, budgetBinds: false });
		expect(result.byItem["D1 storage"]).toBeCloseTo(1000 * 1e-9 * 0.75 * (2 / 30) * 1e6, 12);
		expect(result.byItem["leaving D1"]).toBeCloseTo(2 * 0.001, 12);
	});

	it("writes no archive objects for a worker without an archive", () => {
		const result = allInAt(100, { ...INPUT, lifecycle: { ...LIFECYCLE, archive: null } });
		expect(result.byItem["archive objects"]).toBe(0);
		expect(result.byItem["archive storage"]).toBe(0);
		expect(result.archiveObjectsPerBucketHour).toBe(0);
	});
});
