import { env } from "cloudflare:workers";
import { afterEach, expect, it, vi } from "vitest";
import { WINDOW_CALLBACKS, WINDOW_MS } from "../../src/metrics/callback-window";
import {
	flushCallbacks,
	recordCallback,
	recordConsumerBatch,
	resetMetricsFailureLog,
} from "../../src/metrics/record-metrics";

/*
 * The writer alone, with a recording object in place of the dataset: what it is handed is exactly
 * what would be written. (The runtime binding is exercised, unrecorded, by every other test.)
 */
function recording(): { env: { METRICS: Pick<AnalyticsEngineDataset, "writeDataPoint"> }; points: unknown[] } {
	const points: unknown[] = [];
	return { env: { METRICS: { writeDataPoint: (point) => points.push(point) } }, points };
}

afterEach(() => {
	// The window is the isolate's: what a test left in it is dropped.
	flushCallbacks({}, Date.now(), true);
	resetMetricsFailureLog();
	vi.restoreAllMocks();
});

const T0 = 1_000_000_000_000;

const APP = [{ application_id: "app-1", type: "bandwidth.message.delivered", error_code: null }];
const DELIVERED = { destination: "default", outcome: "delivered", httpStatus: 204, durationMs: 35, attempt: 1 };

it("sums callbacks with the same index and blobs into one point, written once the window is old enough", () => {
	const { env, points } = recording();
	recordCallback(
		env,
		{ received: 4, stored: 2, duplicates: 1, quarantined: 1 },
		[...APP, ...APP, ...APP],
		["time: bad"],
		T0,
	);
	recordCallback(env, { received: 1, stored: 1, duplicates: 0, quarantined: 0 }, APP, [], T0 + 1000);
	recordCallback(env, { received: 2, stored: 1, duplicates: 0, quarantined: 1 }, APP, ["time: also bad"], T0 + 2000);
	// Not yet: the window opened less than WINDOW_MS ago.
	expect(points).toEqual([]);
	recordCallback(env, { received: 1, stored: 1, duplicates: 0, quarantined: 0 }, APP, [], T0 + WINDOW_MS);
	expect(points).toEqual([
		{
			indexes: ["app-1"],
			blobs: ["callback", "app-1", "bandwidth.message.delivered", "", "time"],
			// received, stored, duplicates, quarantined, with an error code; and the callbacks summed.
			doubles: [6, 3, 1, 2, 0, 2],
		},
		{
			indexes: ["app-1"],
			blobs: ["callback", "app-1", "bandwidth.message.delivered", "", ""],
			doubles: [2, 2, 0, 0, 0, 2],
		},
	]);
	// A new window: nothing more until it is due.
	recordCallback(env, { received: 1, stored: 1, duplicates: 0, quarantined: 0 }, APP, [], T0 + WINDOW_MS + 1);
	expect(points).toHaveLength(2);
});

it("writes the window once it holds WINDOW_CALLBACKS callbacks, however young", () => {
	const { env, points } = recording();
	for (let i = 0; i < WINDOW_CALLBACKS - 1; i += 1) {
		recordCallback(env, { received: 1, stored: 1, duplicates: 0, quarantined: 0 }, APP, [], T0);
	}
	expect(points).toEqual([]);
	recordCallback(env, { received: 1, stored: 1, duplicates: 0, quarantined: 0 }, APP, [], T0);
	expect(points).toEqual([
		{
			indexes: ["app-1"],
			blobs: ["callback", "app-1", "bandwidth.message.delivered", "", ""],
			doubles: [WINDOW_CALLBACKS, WINDOW_CALLBACKS, 0, 0, 0, WINDOW_CALLBACKS],
		},
	]);
});

it("writes a due window at a consumer batch or the cron's flush, and a young one only when forced", () => {
	const { env, points } = recording();
	recordCallback(env, { received: 1, stored: 1, duplicates: 0, quarantined: 0 }, APP, [], T0);
	flushCallbacks(env, T0 + WINDOW_MS - 1);
	recordConsumerBatch(env, [DELIVERED], T0 + WINDOW_MS - 1);
	expect(points.map((point) => (point as AnalyticsEngineDataPoint).blobs?.[0])).toEqual(["deliveries"]);
	recordConsumerBatch(env, [DELIVERED], T0 + WINDOW_MS);
	expect(points.map((point) => (point as AnalyticsEngineDataPoint).blobs?.[0])).toEqual([
		"deliveries",
		"deliveries",
		"callback",
	]);
	recordCallback(env, { received: 1, stored: 1, duplicates: 0, quarantined: 0 }, APP, [], T0 + WINDOW_MS);
	flushCallbacks(env, T0 + WINDOW_MS, true);
	expect(points).toHaveLength(4);
});

it("writes one point per consumer batch, whatever it holds, and none for an empty one", () => {
	const { env, points } = recording();
	recordConsumerBatch(
		env,
		Array.from({ length: 24 }, () => DELIVERED),
	);
	expect(points).toHaveLength(1);
	expect((points[0] as AnalyticsEngineDataPoint).doubles?.slice(0, 2)).toEqual([24, 24]);
	recordConsumerBatch(env, []);
	expect(points).toHaveLength(1);
});

it("writes nothing, and throws nothing, without a METRICS binding", () => {
	for (const env of [{}, { METRICS: undefined }, { METRICS: null }, { METRICS: {} }]) {
		expect(() => {
			recordCallback(env, { received: 1, stored: 1, duplicates: 0, quarantined: 0 }, [], ["x: y"]);
			recordConsumerBatch(env, [DELIVERED]);
		}).not.toThrow();
	}
});

it("swallows a binding that throws, and says so once per isolate", () => {
	const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
	const env = {
		METRICS: {
			writeDataPoint: () => {
				throw new Error("AE is down");
			},
		},
	};
	for (let i = 0; i < 3; i += 1) {
		expect(() => recordCallback(env, { received: 1, stored: 1, duplicates: 0, quarantined: 0 }, [], [])).not.toThrow();
		expect(() => flushCallbacks(env, Date.now(), true)).not.toThrow();
		expect(() => recordConsumerBatch(env, [{ ...DELIVERED, outcome: "dead", httpStatus: 410 }])).not.toThrow();
	}
	const lines = warn.mock.calls.map(([line]) => JSON.parse(String(line)));
	expect(lines).toEqual([{ level: "warn", event: "metrics_write_failed", error: "AE is down" }]);
});

it("writes every layout to the runtime's own METRICS binding without a complaint", () => {
	const warn = vi.spyOn(console, "warn");
	const longApplication = "a".repeat(128);
	recordCallback(
		env,
		{ received: 2, stored: 1, duplicates: 0, quarantined: 1 },
		[{ application_id: longApplication, type: "bandwidth.message.failed", error_code: 4432 }],
		["time: bad"],
	);
	flushCallbacks(env, Date.now(), true);
	recordConsumerBatch(
		env,
		Array.from({ length: 24 }, (_, index) => ({
			...DELIVERED,
			destination: `billing-${index % 3}`,
			durationMs: index * 500,
		})),
	);
	expect(warn).not.toHaveBeenCalled();
});
