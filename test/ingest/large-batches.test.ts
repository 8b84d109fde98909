import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { expect, it } from "vitest";
import { quarantineIdOf } from "../../src/bandwidth/event-id";
import { postCallback } from "../helpers/callback";
import { waitForAllForwarded, waitForForwarded } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { waitForFirstTries } from "../helpers/forward";
import { deliveriesOf, quarantineRows, waitForEvents } from "../helpers/storage";
import { TEST_ENV } from "../setup/test-env";

it("accepts, stores and forwards a 300 KB inbound text byte for byte", async () => {
	// Multi-byte characters: 300 KB of UTF-8, well past a queue message's 128 KB.
	const text = "Grüße aus Köln — ".repeat(16_000);
	const event = element("spec2026__message-received_sms.object.json", { message: { text } });
	const response = await postCallback([event]);
	expect(response.status).toBe(200);
	expect(await response.json()).toMatchObject({ stored: 1 });

	const [row] = await waitForEvents(event.message.id, 1);
	expect(JSON.parse(row!.normalized_json).data.text).toBe(text);
	// Too large for its queue message: the consumer read it from the message's ledger.
	const [forwarded] = await waitForForwarded(row!.id);
	expect(forwarded!.body).toBe(row!.normalized_json);
	const secret = TEST_ENV.FORWARD_SIGNING_SECRET.split(" ")[0]!;
	expect(() => new Webhook(secret).verify(forwarded!.body, forwarded!.headers)).not.toThrow();
});

it("accepts 60 events of one message in one batch and drains them in order", async () => {
	const first = element("spec2026__message-delivered_group-mms.object.json");
	const batch = Array.from({ length: 60 }, (_, i) =>
		element("spec2026__message-delivered_group-mms.object.json", {
			messageId: first.message.id,
			to: `+1555000${String(i).padStart(4, "0")}`,
		}),
	);
	const response = await postCallback(batch);
	expect(await response.json()).toEqual({ received: 60, stored: 60, duplicates: 0, quarantined: 0 });
	const rows = await waitForEvents(first.message.id, 60);
	expect(rows.map((row) => row.sequence)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
	const forwarded = await waitForAllForwarded(rows.map((row) => row.id));
	// Each forwarded once, first try: 60 counted deliveries and not one deliveries row.
	const outcomes = await waitForFirstTries(rows.map((row) => row.id));
	expect([...outcomes.values()]).toEqual(rows.map(() => ["delivered"]));
	expect(forwarded).toHaveLength(60);
	for (const row of rows) expect(await deliveriesOf(row.id)).toEqual([]);
});

it("quarantines an event too large for a storage row instead of failing on every retry", async () => {
	const event = element("spec2026__message-received_sms.object.json", { message: { text: "x".repeat(950_000) } });
	const response = await postCallback([event]);
	expect(response.status).toBe(200);
	expect(await response.json()).toMatchObject({ stored: 0, quarantined: 1 });
	const [row] = await quarantineRows("element: too large to store as an event%");
	expect(JSON.parse(row!.raw_json)).toEqual(event);
});

/** D1 refuses a row over 2,000,000 bytes, every column counted (locally it does not: measured here). */
const D1_ROW_LIMIT = 2_000_000;

/** The quarantine row of `element`, with the bytes of all its columns. */
async function quarantineRowOf(rawJson: string) {
	return env.DB.prepare(
		`SELECT reason, raw_json, length(CAST(id AS BLOB)) + length(CAST(received_at AS BLOB))
		   + length(CAST(reason AS BLOB)) + length(CAST(raw_json AS BLOB)) AS bytes
		 FROM quarantine WHERE id = ?1`,
	)
		.bind(await quarantineIdOf(rawJson))
		.first<{ reason: string; raw_json: string; bytes: number }>();
}

it.each([
	["message.from", 850_000, (e: ReturnType<typeof element>, big: string) => Object.assign(e.message, { from: big })],
	["message.id", 590_000, (e: ReturnType<typeof element>, big: string) => Object.assign(e.message, { id: big })],
	["to", 850_000, (e: ReturnType<typeof element>, big: string) => Object.assign(e, { to: big })],
])("quarantines an element with a %s of %i characters instead of a row past the limit", async (path, size, set) => {
	const event = element("spec2026__message-received_sms.object.json");
	set(event, `+1${"5".repeat(size)}`);
	const response = await postCallback([event]);
	expect(response.status).toBe(200);
	expect(await response.json()).toMatchObject({ stored: 0, quarantined: 1 });
	const row = await quarantineRowOf(JSON.stringify(event));
	expect(row?.reason).toBe(`${path}: must be at most 128 characters`);
	expect(row?.bytes).toBeLessThan(D1_ROW_LIMIT);
});

it("keeps the reason short, and the quarantine row under the limit, for a 1 MiB string where the message belongs", async () => {
	const event = { ...element("spec2026__message-received_sms.object.json"), message: "z".repeat(1_040_000) };
	const response = await postCallback([event]);
	expect(await response.json()).toMatchObject({ stored: 0, quarantined: 1 });
	const row = await quarantineRowOf(JSON.stringify(event));
	expect(row?.reason).toMatch(/^message: Invalid type: Expected Object but received "z{99}… \(1040002 characters\)$/);
	expect(row?.bytes).toBeLessThan(D1_ROW_LIMIT);
	expect(JSON.parse(row!.raw_json)).toEqual(event);
});

it("keeps a marked, truncated copy of an element whose JSON outgrows a row once re-serialized", async () => {
	// 1e20 is 4 characters in the body and 21 once parsed and serialized again: about 4.4 MB.
	const event = { ...element("spec2026__message-received_sms.object.json"), extra: "@@numbers@@" };
	const body = JSON.stringify([event]).replace('"@@numbers@@"', `[${Array(200_000).fill("1e20").join(",")}]`);
	expect(body.length).toBeLessThan(1024 * 1024);
	for (const attempt of [1, 2]) {
		const response = await postCallback(body, { raw: true });
		expect(response.status, `attempt ${attempt}`).toBe(200);
		expect(await response.json()).toMatchObject({ stored: 0, quarantined: 1 });
	}
	const elementJson = JSON.stringify(JSON.parse(body)[0]);
	const row = await quarantineRowOf(elementJson);
	expect(row?.bytes).toBeLessThanOrEqual(1_800_000);
	expect(row?.reason).toMatch(
		new RegExp(
			`^element: too large to store as an event .*; raw_json truncated: the element is ${elementJson.length} bytes as JSON`,
		),
	);
	const raw = JSON.parse(row!.raw_json);
	expect(raw).toEqual({ truncated: true, jsonBytes: elementJson.length, jsonPrefix: expect.any(String) });
	expect(elementJson.startsWith(raw.jsonPrefix)).toBe(true);
	expect(raw.jsonPrefix.length).toBeGreaterThan(1_000_000);
});
