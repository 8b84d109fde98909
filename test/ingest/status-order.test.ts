import { describe, expect, it } from "vitest";
import { postCallback } from "../helpers/callback";
import { element } from "../helpers/fixtures";
import { statusesOf, waitForEvents } from "../helpers/storage";

async function post(body: unknown): Promise<void> {
	expect((await postCallback(body)).status).toBe(200);
}

describe("status per recipient", () => {
	it("keeps delivered when a late sending arrives, and stores both in arrival order", async () => {
		const delivered = element("spec2026__message-delivered_sms.object.json");
		const id = delivered.message.id;
		const sending = element("spec2026__message-sending.object.json", { messageId: id, to: delivered.to });
		await post([delivered]);
		await post([sending]);

		const rows = await waitForEvents(id, 2);
		expect(rows.map((row) => [row.sequence, row.type])).toEqual([
			[1, "bandwidth.message.delivered"],
			[2, "bandwidth.message.sending"],
		]);
		expect(JSON.parse(rows[1]!.normalized_json).data).toMatchObject({ sequence: 2, status: "sending" });
		const [status] = await statusesOf(id);
		expect(status).toMatchObject({ recipient: delivered.to, status: "delivered", lastEventId: rows[0]!.id });
	});

	it("moves forward through sending, sent and delivered", async () => {
		const sending = element("spec2026__message-sending.object.json");
		const id = sending.message.id;
		const to = sending.to;
		await post([sending]);
		await waitForEvents(id, 1);
		expect((await statusesOf(id))[0]).toMatchObject({ status: "sending" });
		await post([element("spec2026__message-sent.object.json", { messageId: id, to })]);
		await post([element("spec2026__message-delivered_sms.object.json", { messageId: id, to })]);
		await waitForEvents(id, 3);
		const [status] = await statusesOf(id);
		expect(status).toMatchObject({ status: "delivered" });
	});

	it("keeps the first terminal answer when both delivered and failed arrive", async () => {
		const failed = element("spec2026__message-failed_4432.object.json");
		const id = failed.message.id;
		await post([failed, element("spec2026__message-delivered_sms.object.json", { messageId: id, to: failed.to })]);
		await waitForEvents(id, 2);
		expect((await statusesOf(id))[0]).toMatchObject({ status: "failed", errorCode: 4432 });
	});
});

describe("group messages", () => {
	it("gives each owned number of a group inbound its own message and status", async () => {
		const owned = ["+12345678902", "+12345678903", "+12345678904"];
		const copies = owned.map((owner) =>
			element("apidocs2023__message-received_group-mms.json", { to: owner, message: { owner, to: owned } }),
		);
		const response = await postCallback(copies);
		expect(await response.json()).toMatchObject({ received: 3, stored: 3 });
		for (const copy of copies) {
			const [row] = await waitForEvents(copy.message.id, 1);
			expect(row).toMatchObject({
				type: "bandwidth.message.received",
				recipient: copy.to,
				owner: copy.to,
				sequence: 1,
			});
			expect(await statusesOf(copy.message.id)).toEqual([
				expect.objectContaining({ recipient: copy.to, status: "received" }),
			]);
		}
	});

	it("tracks an outbound group message per recipient", async () => {
		const sending = element("spec2026__message-sending.object.json", {
			message: { to: ["+15550000001", "+15550000002", "+15550000003"] },
		});
		const id = sending.message.id;
		const to = sending.message.to;
		const per = (name: string, recipient: string) => element(name, { messageId: id, to: recipient, message: { to } });
		await post([
			per("spec2026__message-sending.object.json", "+15550000001"),
			per("spec2026__message-sending.object.json", "+15550000002"),
			per("spec2026__message-sending.object.json", "+15550000003"),
		]);
		await post([
			per("spec2026__message-delivered_group-mms.object.json", "+15550000001"),
			per("spec2026__message-failed_4432.object.json", "+15550000002"),
		]);
		await waitForEvents(id, 5);
		expect((await statusesOf(id)).map((row) => [row.recipient, row.status, row.errorCode])).toEqual([
			["+15550000001", "delivered", null],
			["+15550000002", "failed", 4432],
			["+15550000003", "sending", null],
		]);
	});
});
