import { describe, expect, it } from "vitest";
import { classifyElement } from "../../src/bandwidth/classify";
import { element } from "../helpers/fixtures";

function reasonOf(raw: unknown): string {
	const result = classifyElement(raw);
	if (result.kind !== "invalid") throw new Error(`expected invalid, got ${result.info.type}`);
	return result.reason;
}

function typeOf(raw: unknown): string {
	const result = classifyElement(raw);
	if (result.kind !== "event") throw new Error(`expected an event, got: ${result.reason}`);
	return result.info.type;
}

const failed = () => element("spec2026__message-failed_4432.object.json");
const received = () => element("spec2026__message-received_sms.object.json");

describe("lenient on what Bandwidth really sends", () => {
	it.each([
		["seconds", "2016-09-14T18:20:16Z"],
		["milliseconds", "2020-06-25T18:42:36.979Z"],
		["microseconds", "2024-06-25T18:42:36.979456Z"],
		["an offset", "2024-06-25T13:42:36.979-05:00"],
	])("accepts timestamps in %s", (_, time) => {
		expect(typeOf({ ...failed(), time, message: { ...failed().message, time } })).toBe("bandwidth.message.failed");
	});

	it("accepts an alphanumeric sender, media: null and no text, tag or segmentCount", () => {
		const event = failed();
		const { text: _text, segmentCount: _segments, ...message } = event.message;
		expect(typeOf({ ...event, message: { ...message, from: "ACME Co", media: null } })).toBe(
			"bandwidth.message.failed",
		);
	});

	it("accepts an outbound owner that is not the sender", () => {
		const event = failed();
		expect(typeOf({ ...event, message: { ...event.message, owner: "+19999999999" } })).toBe("bandwidth.message.failed");
	});

	it("reads an optional field of the wrong type as absent", () => {
		const result = classifyElement({ ...received(), message: { ...received().message, text: 42, media: "x" } });
		expect(result.kind === "event" && result.element.message.text).toBeUndefined();
	});

	it("accepts message-failed without errorCode, or with null", () => {
		const { errorCode: _code, ...withoutCode } = failed();
		expect(typeOf(withoutCode)).toBe("bandwidth.message.failed");
		expect(typeOf({ ...failed(), errorCode: null })).toBe("bandwidth.message.failed");
	});

	it.each(["requested-location-response", "request-location-response", "location-request-response"])(
		"maps the location spelling %s to one type",
		(type) => {
			expect(typeOf({ ...received(), type })).toBe("bandwidth.message.location_response");
		},
	);

	it("keeps an unknown type that is well formed", () => {
		expect(typeOf({ ...failed(), type: "message-teleported" })).toBe("bandwidth.message.unknown");
		expect(typeOf({ type: "brand-new", message: { id: "m1" } })).toBe("bandwidth.message.unknown");
	});
});

describe("strict on what makes an event meaningless", () => {
	it.each([
		["a string", "hello", "element: must be a JSON object"],
		["null", null, "element: must be a JSON object"],
		["an array", [1], "element: must be a JSON object"],
	])("rejects %s as an element", (_, raw, reason) => {
		expect(reasonOf(raw)).toBe(reason);
	});

	it("rejects an element without a string type or a message object", () => {
		expect(reasonOf({ message: { id: "m" } })).toMatch(/^type: /);
		expect(reasonOf({ type: 7, message: { id: "m" } })).toMatch(/^type: /);
		expect(reasonOf({ type: "brand-new" })).toMatch(/^message: /);
		expect(reasonOf({ type: "brand-new", message: { id: "" } })).toMatch(/^message\.id: must not be empty/);
	});

	it.each(["owner", "applicationId", "time", "direction", "to", "from", "id"])(
		"names a missing required message.%s",
		(field) => {
			const event = failed();
			const message: Record<string, unknown> = { ...event.message };
			delete message[field];
			expect(reasonOf({ ...event, message })).toContain(`message.${field}:`);
		},
	);

	it.each(["time", "to"])("names a missing required envelope %s", (field) => {
		const event: Record<string, unknown> = { ...failed() };
		delete event[field];
		expect(reasonOf(event)).toContain(`${field}:`);
	});

	it("names a wrongly typed required field with its path", () => {
		expect(reasonOf({ ...failed(), message: { ...failed().message, to: ["+1555", 5] } })).toContain("message.to.1:");
		expect(reasonOf({ ...failed(), message: { ...failed().message, direction: "sideways" } })).toContain(
			"message.direction:",
		);
	});

	it.each([
		["a known type", failed],
		["an unknown type", () => ({ ...failed(), type: "message-teleported" })],
	])("rejects a message id with a lone surrogate, which no store gives back (%s)", (_, build) => {
		const event = build();
		expect(reasonOf({ ...event, message: { ...event.message, id: "1700000000000\ud800x" } })).toContain(
			"message.id: must be well-formed Unicode",
		);
		expect(classifyElement({ ...event, message: { ...event.message, id: "1700000000000\ud83d\ude00x" } }).kind).toBe(
			"event",
		);
	});

	it.each([["4432"], [44.5]])("rejects errorCode %j, which is not an integer", (errorCode) => {
		expect(reasonOf({ ...failed(), errorCode })).toContain("errorCode:");
	});

	it.each(["yesterday", "2024-02-30T00:00:00Z", "2024-13-01T00:00:00Z", "2024-06-25 18:42"])(
		"rejects the time %j",
		(time) => {
			expect(reasonOf({ ...failed(), time })).toContain("time: must be an RFC 3339 timestamp");
		},
	);
});

describe("bounded reasons and identifiers", () => {
	it("cuts a huge received value in the reason to about 100 characters", () => {
		const reason = reasonOf({ ...received(), message: "z".repeat(1024 * 1024) });
		expect(reason).toMatch(/^message: Invalid type: Expected Object but received "z{99}… \(1048578 characters\)$/);
		expect(reason.length).toBeLessThan(200);
	});

	it("cuts every listed issue, not just the first", () => {
		const big = "y".repeat(50_000);
		const reason = reasonOf({ ...failed(), time: 1, errorCode: big, to: big });
		expect(reason.length).toBeLessThan(1000);
		expect(reason).toContain('errorCode: Invalid type: Expected number but received "yyy');
	});

	it("never cuts a surrogate pair in half", () => {
		const reason = reasonOf({ ...received(), message: `${"z".repeat(98)}${"😀".repeat(1000)}` });
		expect(reason).toContain(`"${"z".repeat(98)}… (`);
		expect(reason.isWellFormed()).toBe(true);
	});

	it.each([
		["message.id", (e: ReturnType<typeof failed>, big: string) => Object.assign(e.message, { id: big })],
		["message.from", (e: ReturnType<typeof failed>, big: string) => Object.assign(e.message, { from: big })],
		["message.owner", (e: ReturnType<typeof failed>, big: string) => Object.assign(e.message, { owner: big })],
		[
			"message.applicationId",
			(e: ReturnType<typeof failed>, big: string) => Object.assign(e.message, { applicationId: big }),
		],
		["message.to.0", (e: ReturnType<typeof failed>, big: string) => Object.assign(e.message, { to: [big] })],
		["to", (e: ReturnType<typeof failed>, big: string) => Object.assign(e, { to: big })],
	])("quarantines a %s longer than any identifier Bandwidth sends", (path, set) => {
		const event = failed();
		set(event, "+1".padEnd(129, "5"));
		expect(reasonOf(event)).toContain(`${path}: must be at most 128 characters`);
		const fits = failed();
		set(fits, "+1".padEnd(128, "5"));
		expect(typeOf(fits)).toBe("bandwidth.message.failed");
	});

	it("quarantines an unknown type whose message id is too long, and reads its other long identifiers as absent", () => {
		expect(reasonOf({ type: "brand-new", message: { id: "m".repeat(590_000) } })).toMatch(
			/^message\.id: must be at most 128 characters$/,
		);
		const result = classifyElement({
			type: "brand-new",
			to: "t".repeat(200),
			message: { id: "m1", from: "f".repeat(850_000) },
		});
		expect(result.kind === "event" && [result.element.to, result.element.message.from]).toEqual([undefined, undefined]);
	});
});
