import { env } from "cloudflare:workers";
import { afterEach, expect, it, vi } from "vitest";
import { recordCallback, recordConsumerBatch, resetMetricsFailureLog } from "../../src/metrics/record-metrics";

/*
 * The writer alone, with a recording object in place of the dataset: what it is handed is exactly
 * what would be written. (The runtime binding is exercised, unrecorded, by every other test.)
 */
function recording(): { env: { METRICS: Pick<AnalyticsEngineDataset, "writeDataPoint"> }; points: unknown[] } {
	const points: unknown[] = [];
	return { env: { METRICS: { writeDataPoint: (point) => points.push(point) } }, points };
}

afterEach(() => {
	resetMetricsFailureLog();
	vi.restoreAllMocks();
});

const APP = [{ application_id: "app-1", type: "bandwidth.message.delivered", error_code: null }];
const DELIVERED = { destination: "default", outcome: "delivered", httpStatus: 204, durationMs: 35, attempt: 1 };

it("writes one point per accepted callback, its quarantined elements included", () => {
	const { env, points } = recording();
	recordCallback(
		env,
		{ received: 4, stored: 2, duplicates: 1, quarantined: 1 },
		[...APP, ...APP, ...APP],
		["time: bad"],
	);
	expect(points).toEqual([
		{
			indexes: ["app-1"],
			blobs: ["callback", "app-1", "bandwidth.message.delivered", "", "time"],
			doubles: [4, 2, 1, 1, 0],
		},
	]);
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
