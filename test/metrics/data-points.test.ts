import { describe, expect, it } from "vitest";
import {
	callbackPoint,
	clipToBytes,
	deliveriesPoint,
	MAX_INDEX_BYTES,
	reasonPath,
	type SettledAttempt,
	shared,
} from "../../src/metrics/data-points";

const APPLICATION = "93de2206-9669-4e07-948d-329f4b722ee2";
const DELIVERED = "bandwidth.message.delivered";
const FAILED = "bandwidth.message.failed";

describe("a callback point", () => {
	it("is indexed by the application and carries the counts, its type and its error code", () => {
		const events = [{ application_id: APPLICATION, type: FAILED, error_code: 4432 }];
		expect(callbackPoint({ received: 1, stored: 1, duplicates: 0, quarantined: 0 }, events, [])).toEqual({
			indexes: [APPLICATION],
			blobs: ["callback", APPLICATION, FAILED, "4432", ""],
			doubles: [1, 1, 0, 0, 1],
		});
	});

	it("counts its quarantined elements and names the path they failed on, never the value", () => {
		const point = callbackPoint(
			{ received: 3, stored: 0, duplicates: 0, quarantined: 3 },
			[],
			[
				'message.to.1: Invalid type: Expected string but received "+15551234567"',
				"message.to.1: Invalid type: Expected string but received 5",
				"message.to.1: Invalid length",
			],
		);
		expect(point).toEqual({
			indexes: [""],
			blobs: ["callback", "", "", "", "message.to.1"],
			doubles: [3, 0, 0, 3, 0],
		});
	});

	it("says 'mixed' for a field its elements disagree on", () => {
		const events = [
			{ application_id: APPLICATION, type: FAILED, error_code: 4432 },
			{ application_id: "other", type: DELIVERED, error_code: null },
			{ application_id: null, type: FAILED, error_code: 9902 },
		];
		const point = callbackPoint({ received: 5, stored: 3, duplicates: 0, quarantined: 2 }, events, [
			"time: bad",
			"message: bad",
		]);
		expect(point.blobs).toEqual(["callback", "mixed", "mixed", "mixed", "mixed"]);
		expect(point.doubles).toEqual([5, 3, 0, 2, 2]);
	});

	it("does not count a duplicate failure as stored", () => {
		const events = [{ application_id: APPLICATION, type: FAILED, error_code: 4432 }];
		const point = callbackPoint({ received: 1, stored: 0, duplicates: 1, quarantined: 0 }, events, []);
		expect(point.doubles).toEqual([1, 0, 1, 0, 0]);
	});

	it("names one value, 'mixed' for several, '' for none", () => {
		expect(shared([APPLICATION, null, APPLICATION])).toBe(APPLICATION);
		expect(shared([APPLICATION, "other"])).toBe("mixed");
		expect(shared([null])).toBe("");
		expect(shared([])).toBe("");
	});

	it("names the failing path, never the value the reason quotes", () => {
		expect(reasonPath("message.to.1: Invalid type: Expected string but received 5")).toBe("message.to.1");
		expect(reasonPath('message: Invalid type: Expected Object but received "+15551234567"')).toBe("message");
		expect(reasonPath("element: must be a JSON object")).toBe("element");
		expect(reasonPath("no colon at all")).toBe("unknown");
		expect(reasonPath("+1 555 123: odd")).toBe("unknown");
	});
});

describe("a deliveries point", () => {
	const attempt = (fields: Partial<SettledAttempt>): SettledAttempt => ({
		destination: "default",
		outcome: "delivered",
		httpStatus: 204,
		durationMs: 100,
		attempt: 1,
		...fields,
	});

	it("counts a consumer batch's outcomes, POSTs and latencies in one point", () => {
		const point = deliveriesPoint([
			attempt({ durationMs: 40 }),
			attempt({ durationMs: 600 }),
			attempt({ outcome: "failed", httpStatus: 503, durationMs: 2500, attempt: 2 }),
			attempt({ outcome: "dead", httpStatus: 410, durationMs: 11_000, attempt: 3 }),
			attempt({ outcome: "skipped", httpStatus: null, durationMs: null }),
		]);
		expect(point).toEqual({
			indexes: ["default"],
			blobs: ["deliveries", "default", "mixed"],
			doubles: [5, 2, 1, 1, 1, 4, 40 + 600 + 2500 + 11_000, 11_000, 3, 1, 1, 1, 0, 1],
		});
	});

	it("names the status its failures got, 'none' for no answer, and 'mixed' for several destinations", () => {
		const point = deliveriesPoint([
			attempt({ destination: "billing", outcome: "failed", httpStatus: null, durationMs: 10_000 }),
			attempt({ destination: "support", outcome: "failed", httpStatus: null, durationMs: 10_000 }),
		]);
		expect(point?.indexes).toEqual(["mixed"]);
		expect(point?.blobs).toEqual(["deliveries", "mixed", "none"]);
	});

	it("is nothing for a batch that settled nothing", () => {
		expect(deliveriesPoint([])).toBeNull();
	});
});

it("clips an index to AE's 96 bytes without breaking a character", () => {
	expect(clipToBytes("a".repeat(128))).toBe("a".repeat(MAX_INDEX_BYTES));
	const clipped = clipToBytes("é".repeat(60));
	expect(clipped).toBe("é".repeat(48));
	expect(clipToBytes(`${"a".repeat(95)}é`)).toBe("a".repeat(95));
});
