import { env } from "cloudflare:workers";
import { afterEach, expect, it, vi } from "vitest";
import {
	MAX_QUARANTINE_POINTS,
	recordCallback,
	recordDelivery,
	recordQuarantined,
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
	resetMetricsFailureLog();
	vi.restoreAllMocks();
});

it("writes one point per accepted callback with its counts", () => {
	const { env, points } = recording();
	recordCallback(env, { received: 4, stored: 2, duplicates: 1, quarantined: 1 }, [
		{ application_id: "app-1" },
		{ application_id: "app-1" },
		{ application_id: "app-1" },
	]);
	expect(points).toEqual([{ indexes: ["app-1"], blobs: ["callback", "app-1"], doubles: [4, 2, 1, 1] }]);
});

it("writes one point per delivery attempt, for the default destination", () => {
	const { env, points } = recording();
	recordDelivery(env, { eventId: "evt_x" }, 2, {
		destination: "default",
		outcome: "delivered",
		httpStatus: 204,
		durationMs: 35,
	});
	expect(points).toEqual([
		{
			indexes: ["default"],
			blobs: ["delivery", "default", "delivered", "204", "", "", ""],
			doubles: [1, 35, 2, 204, 1],
		},
	]);
});

it("writes one point per quarantined element, bounded per write", () => {
	const { env, points } = recording();
	recordQuarantined(env, [{ reason: "time: bad" }]);
	expect(points).toHaveLength(1);
	recordQuarantined(env, []);
	expect(points).toHaveLength(1);
	recordQuarantined(
		env,
		Array.from({ length: 1000 }, () => ({ reason: "time: bad" })),
	);
	expect(points).toHaveLength(1 + MAX_QUARANTINE_POINTS);
});

it("writes nothing, and throws nothing, without a METRICS binding", () => {
	for (const env of [{}, { METRICS: undefined }, { METRICS: null }, { METRICS: {} }]) {
		expect(() => {
			recordCallback(env, { received: 1, stored: 1, duplicates: 0, quarantined: 0 }, []);
			recordDelivery(env, {}, 1, { destination: "default", outcome: "delivered", httpStatus: 200, durationMs: 1 });
			recordQuarantined(env, [{ reason: "x: y" }]);
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
		expect(() => recordCallback(env, { received: 1, stored: 1, duplicates: 0, quarantined: 0 }, [])).not.toThrow();
		expect(() =>
			recordDelivery(env, {}, 1, { destination: "default", outcome: "dead", httpStatus: 410, durationMs: 5 }),
		).not.toThrow();
		expect(() => recordQuarantined(env, [{ reason: "x: y" }])).not.toThrow();
	}
	const lines = warn.mock.calls.map(([line]) => JSON.parse(String(line)));
	expect(lines).toEqual([{ level: "warn", event: "metrics_write_failed", error: "AE is down" }]);
});

it("writes every layout to the runtime's own METRICS binding without a complaint", () => {
	const warn = vi.spyOn(console, "warn");
	const longApplication = "a".repeat(128);
	recordCallback(env, { received: 2, stored: 1, duplicates: 0, quarantined: 1 }, [{ application_id: longApplication }]);
	recordDelivery(env, { eventId: "evt_x" }, 1, {
		destination: "billing",
		outcome: "delivered",
		httpStatus: 204,
		durationMs: 12,
	});
	recordQuarantined(
		env,
		Array.from({ length: 300 }, () => ({ reason: "time: bad" })),
	);
	expect(warn).not.toHaveBeenCalled();
});
