import { expect, it } from "vitest";
import { postCallback } from "../helpers/callback";
import { element } from "../helpers/fixtures";
import { eventsOf, quarantineRows, waitForEvents } from "../helpers/storage";

it("stores valid and unknown-type elements, quarantines invalid ones, and still answers 200", async () => {
	const valid = element("spec2026__message-delivered_sms.object.json");
	const unknown = element("spec2026__message-delivered_sms.object.json", { type: "message-teleported" });
	const noTo = element("spec2026__message-failed_4432.object.json", { message: { to: "+15550000001" } });
	const badCode = { ...element("spec2026__message-failed_4432.object.json"), errorCode: "4432" };
	const notAnObject = "just a string";

	const response = await postCallback([valid, noTo, unknown, badCode, notAnObject]);
	expect(response.status).toBe(200);
	expect(await response.json()).toEqual({ received: 5, stored: 2, duplicates: 0, quarantined: 3 });

	const [validRow] = await waitForEvents(valid.message.id, 1);
	expect(validRow).toMatchObject({ type: "bandwidth.message.delivered" });
	const [unknownRow] = await waitForEvents(unknown.message.id, 1);
	expect(unknownRow).toMatchObject({ type: "bandwidth.message.unknown" });
	expect(JSON.parse(unknownRow!.normalized_json).data).toMatchObject({ status: null, direction: "outbound" });

	const reasons = new Map((await quarantineRows()).map((row) => [row.raw_json, row.reason]));
	expect(reasons.get(JSON.stringify(noTo))).toMatch(/^message\.to: /);
	expect(reasons.get(JSON.stringify(badCode))).toMatch(/^errorCode: /);
	expect(reasons.get(JSON.stringify(notAnObject))).toBe("element: must be a JSON object");
	// Never forwarded or stored as events.
	expect(await eventsOf(noTo.message.id)).toEqual([]);
	expect(await eventsOf(badCode.message.id)).toEqual([]);
});

it("keeps one quarantine row when Bandwidth retries a batch with a bad element", async () => {
	const bad = { ...element("spec2026__message-failed_4432.object.json"), time: "not a time" };
	await postCallback([bad]);
	const response = await postCallback([bad]);
	expect(await response.json()).toMatchObject({ quarantined: 1 });
	expect((await quarantineRows()).filter((row) => row.raw_json === JSON.stringify(bad))).toHaveLength(1);
});

it("quarantines an element nested too deep to serialize safely, in truncated form", async () => {
	let deep: unknown = "bottom";
	for (let i = 0; i < 5000; i += 1) deep = { d: deep };
	const valid = element("spec2026__message-delivered_sms.object.json");
	const hostile = { ...element("spec2026__message-delivered_sms.object.json"), extra: deep };
	const response = await postCallback([hostile, valid]);
	expect(await response.json()).toMatchObject({ stored: 1, quarantined: 1 });
	const [row] = await quarantineRows("element: nested deeper than%");
	expect(row!.raw_json).toContain("[truncated: nested too deep]");
	await waitForEvents(valid.message.id, 1);
});

it("keeps __proto__ and constructor keys as plain data", async () => {
	const event = element("spec2026__message-delivered_sms.object.json");
	const body = JSON.stringify([event]).replace('"type":', '"__proto__":{"polluted":true},"constructor":"x","type":');
	const response = await postCallback(body, { raw: true });
	expect(await response.json()).toMatchObject({ stored: 1 });
	const [row] = await waitForEvents(event.message.id, 1);
	const bandwidth = JSON.parse(row!.normalized_json).data.bandwidth;
	expect(Object.hasOwn(bandwidth, "__proto__")).toBe(true);
	expect(bandwidth.constructor).toBe("x");
	expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
});

it.each(["__proto__", "constructor", "toString", "sideways"])(
	"stores an unknown type whose direction is %j with no direction",
	async (direction) => {
		const event = element("spec2026__message-sent.object.json", { type: "message-exploded", message: { direction } });
		const response = await postCallback([event]);
		expect(await response.json()).toMatchObject({ stored: 1 });
		const [row] = await waitForEvents(event.message.id, 1);
		expect(row!.direction).toBeNull();
		const data = JSON.parse(row!.normalized_json).data;
		expect(data).toHaveProperty("direction", null);
		expect(data.bandwidth.message.direction).toBe(direction);
	},
);
