import { Webhook } from "standardwebhooks";
import { expect, it, vi } from "vitest";
import { postCallback } from "../helpers/callback";
import { receivedAt } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { quarantineRows, waitForDeliveries, waitForEvents } from "../helpers/storage";
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
	await waitForDeliveries(row!.id, 1);
	const forwarded = await vi.waitUntil(async () =>
		(await receivedAt()).find((r) => r.headers["webhook-id"] === row!.id),
	);
	expect(forwarded.body).toBe(row!.normalized_json);
	const secret = TEST_ENV.FORWARD_SIGNING_SECRET.split(" ")[0]!;
	expect(() => new Webhook(secret).verify(forwarded.body, forwarded.headers)).not.toThrow();
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
	for (const row of rows) {
		const [delivery] = await waitForDeliveries(row.id, 1);
		expect(delivery?.outcome).toBe("delivered");
	}
});

it("quarantines an event too large for a storage row instead of failing on every retry", async () => {
	const event = element("spec2026__message-received_sms.object.json", { message: { text: "x".repeat(950_000) } });
	const response = await postCallback([event]);
	expect(response.status).toBe(200);
	expect(await response.json()).toMatchObject({ stored: 0, quarantined: 1 });
	const [row] = await quarantineRows("element: too large to store as an event%");
	expect(JSON.parse(row!.raw_json)).toEqual(event);
});
