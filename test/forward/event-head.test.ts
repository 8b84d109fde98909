import { expect, it } from "vitest";
import { utf8Bytes } from "../../src/db/row-size";
import { readEventHead } from "../../src/forward/event-head";
import { storedEvent } from "../helpers/forward";

it("reads type and direction from a CloudEvent as the relay stores it, as JSON.parse would", async () => {
	for (const sample of ["spec2026__message-received_sms.object.json", "spec2026__message-delivered_sms.object.json"]) {
		const event = await storedEvent(sample);
		const parsed = JSON.parse(event.json);
		expect(readEventHead(event.json)).toEqual({ type: parsed.type, direction: parsed.data.direction });
	}
});

it("stops once it has both: what follows the direction is never read", () => {
	const head = '{"specversion":"1.0","id":"evt_x","source":"s","type":"bandwidth.message.received",';
	const json = `${head}"subject":"m","data":{"messageId":"m","sequence":1,"status":"received","direction":"inbound","text":"…`;
	expect(readEventHead(json)).toEqual({ type: "bandwidth.message.received", direction: "inbound" });
});

it("reads another order, whitespace and escapes, and skips nested values whatever they hold", () => {
	const json = `{
		"data" : { "bandwidth": {"type": "decoy", "a": [1, {"b": "}]\\"{"}], "direction": "sideways"},
		           "n": -1.5e3, "ok": true, "direction" : null },
		"type" : "bandwidth.message.\\u0075nknown\\"" }`;
	expect(readEventHead(json)).toEqual({ type: 'bandwidth.message.unknown"', direction: null });
});

it.each([
	["not JSON", "<html>"],
	["an array", '[{"type":"t","data":{"direction":null}}]'],
	["no type", '{"data":{"direction":"inbound"}}'],
	["a type that is not a string", '{"type":7,"data":{"direction":"inbound"}}'],
	["no data", '{"type":"t"}'],
	["no direction", '{"type":"t","data":{"messageId":"m"}}'],
	["a direction that is not a string", '{"type":"t","data":{"direction":1}}'],
	["a member that is not one", '{"type":"t,"data":{"direction":"inbound"}}'],
	["an escape JSON does not have", '{"type":"\\x41","data":{"direction":null}}'],
	["a string that never ends", '{"data":{"direction":"inbound"},"type":"t'],
	["a nested value that never ends before the direction", '{"type":"t","data":{"bandwidth":{"to":["+1"'],
])("answers null for %s", (_case, json) => {
	expect(readEventHead(json)).toBeNull();
});

it("counts UTF-8 as TextEncoder writes it, surrogate pairs and lone surrogates included", () => {
	const encoder = new TextEncoder();
	for (const text of ["", "plain", "Grüße — 東京 😀", "lone \ud800 high", "lone \udc00 low", "end \ud83d"]) {
		expect(utf8Bytes(text), JSON.stringify(text)).toBe(encoder.encode(text).byteLength);
	}
});
