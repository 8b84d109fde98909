import { describe, expect, it } from "vitest";
import { prepareElement } from "../../src/ingest/prepare-element";
import {
	applicationOf,
	callbackPoint,
	clipToBytes,
	deliveryPoint,
	MAX_INDEX_BYTES,
	quarantinePoints,
	reasonPath,
} from "../../src/metrics/data-points";
import { eventFactsOf } from "../../src/metrics/event-facts";
import { element } from "../helpers/fixtures";

const APPLICATION = "93de2206-9669-4e07-948d-329f4b722ee2";

/** The CloudEvent the relay would store for an element, as the queue job carries it inline. */
async function normalizedJson(raw: unknown): Promise<string> {
	const prepared = await prepareElement(raw, "2026-12-01T06:00:00.000Z");
	if (prepared.kind !== "event") throw new Error("expected a valid element");
	return prepared.entry.normalized_json;
}

describe("a callback point", () => {
	it("is indexed by the application and carries the four counts as doubles", () => {
		expect(callbackPoint({ received: 5, stored: 2, duplicates: 1, quarantined: 2 }, APPLICATION)).toEqual({
			indexes: [APPLICATION],
			blobs: ["callback", APPLICATION],
			doubles: [5, 2, 1, 2],
		});
	});

	it("has an empty application when no element was an event", () => {
		expect(callbackPoint({ received: 1, stored: 0, duplicates: 0, quarantined: 1 }, null)).toMatchObject({
			indexes: [""],
			blobs: ["callback", ""],
		});
	});

	it("names one application, 'mixed' for several, null for none", () => {
		expect(applicationOf([APPLICATION, null, APPLICATION])).toBe(APPLICATION);
		expect(applicationOf([APPLICATION, "other"])).toBe("mixed");
		expect(applicationOf([null])).toBeNull();
		expect(applicationOf([])).toBeNull();
	});
});

describe("a delivery point", () => {
	it("is indexed by destination, with outcome, status, error code, type and application as blobs", () => {
		const point = deliveryPoint({
			destination: "default",
			outcome: "failed",
			httpStatus: 503,
			latencyMs: 120,
			attempt: 3,
			eventType: "bandwidth.message.failed",
			applicationId: APPLICATION,
			errorCode: 4432,
		});
		expect(point).toEqual({
			indexes: ["default"],
			blobs: ["delivery", "default", "failed", "503", "4432", "bandwidth.message.failed", APPLICATION],
			doubles: [1, 120, 3, 503, 1],
		});
	});

	it("marks an attempt without a POST, whose latency means nothing", () => {
		const point = deliveryPoint({
			destination: "default",
			outcome: "skipped",
			httpStatus: null,
			latencyMs: null,
			attempt: 1,
			eventType: null,
			applicationId: null,
			errorCode: null,
		});
		expect(point.blobs).toEqual(["delivery", "default", "skipped", "", "", "", ""]);
		expect(point.doubles).toEqual([1, 0, 1, 0, 0]);
	});

	it("reads type, application and error code from the event the job carries inline", async () => {
		const failed = await normalizedJson(element("spec2026__message-failed_4432.object.json"));
		expect(eventFactsOf({ eventId: "evt_x", event: failed })).toEqual({
			eventType: "bandwidth.message.failed",
			applicationId: APPLICATION,
			errorCode: 4432,
		});
		const delivered = await normalizedJson(element("spec2026__message-delivered_sms.object.json"));
		expect(eventFactsOf({ eventId: "evt_y", event: delivered })).toMatchObject({
			eventType: "bandwidth.message.delivered",
			errorCode: null,
		});
	});

	it("is not fooled by an error code in the text or the original element", async () => {
		const raw = element("spec2026__message-delivered_sms.object.json", {
			message: { text: '"error":{"code":9999}', error: { code: 8888 } },
		});
		expect(eventFactsOf({ event: await normalizedJson(raw) }).errorCode).toBeNull();
	});

	it("has no facts for a job without its event, or a body that is not a job", () => {
		const none = { eventType: null, applicationId: null, errorCode: null };
		expect(eventFactsOf({ eventId: "evt_x", messageId: "m" })).toEqual(none);
		expect(eventFactsOf(null)).toEqual(none);
		expect(eventFactsOf("evt_x")).toEqual(none);
	});
});

describe("quarantine points", () => {
	it("name the failing path, never the value the reason quotes", () => {
		expect(reasonPath("message.to.1: Invalid type: Expected string but received 5")).toBe("message.to.1");
		expect(reasonPath('message: Invalid type: Expected Object but received "+15551234567"')).toBe("message");
		expect(reasonPath("element: must be a JSON object")).toBe("element");
		expect(reasonPath("no colon at all")).toBe("unknown");
		expect(reasonPath("+1 555 123: odd")).toBe("unknown");
	});

	it("are one per element while under the cap", () => {
		const points = quarantinePoints(["time: bad", "message.to: bad"], 100);
		expect(points).toEqual([
			{ indexes: ["time"], blobs: ["quarantine", "time"], doubles: [1] },
			{ indexes: ["message.to"], blobs: ["quarantine", "message.to"], doubles: [1] },
		]);
	});

	it("stay within the cap for a flood, and still count every element", () => {
		const reasons = Array.from({ length: 1000 }, () => "message.id: too many events");
		const points = quarantinePoints(reasons, 100);
		expect(points).toHaveLength(100);
		expect(points.reduce((sum, point) => sum + (point.doubles?.[0] ?? 0), 0)).toBe(1000);
		expect(points.at(-1)).toEqual({ indexes: ["message.id"], blobs: ["quarantine", "message.id"], doubles: [901] });

		const mixed = quarantinePoints([...reasons.slice(0, 150), ...Array(50).fill("time: bad")], 100);
		expect(mixed).toHaveLength(100);
		expect(mixed.at(-1)).toMatchObject({ indexes: ["mixed"], doubles: [101] });
	});
});

it("clips an index to AE's 96 bytes without breaking a character", () => {
	expect(clipToBytes("a".repeat(128))).toBe("a".repeat(MAX_INDEX_BYTES));
	const clipped = clipToBytes("é".repeat(60));
	expect(clipped).toBe("é".repeat(48));
	expect(clipToBytes(`${"a".repeat(95)}é`)).toBe("a".repeat(95));
});
