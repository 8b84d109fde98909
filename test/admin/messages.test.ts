import { describe, expect, it } from "vitest";
import type { NormalizedEvent } from "../../src/bandwidth/normalize";
import type { Delivery } from "../../src/db/deliveries.repository";
import type { RecipientStatus } from "../../src/db/message-status.repository";
import { adminFetch, adminGet, storeElements } from "../helpers/admin";
import { element, newMessageId } from "../helpers/fixtures";
import { expectError } from "../helpers/http";
import { waitForDeliveries } from "../helpers/storage";

interface MessageView {
	messageId: string;
	recipients: RecipientStatus[];
	events: NormalizedEvent[];
	deliveries: Delivery[];
}

describe("GET /v1/messages/:messageId", () => {
	it("answers the status per recipient, the events by sequence and every delivery attempt", async () => {
		const messageId = newMessageId();
		const [first, second] = ["+15550001001", "+15550001002"];
		const group = { to: [first, second] };
		const elements = [
			element("spec2026__message-sending.object.json", { messageId, to: first, message: group }),
			element("spec2026__message-sending.object.json", { messageId, to: second, message: group }),
			element("spec2026__message-delivered_group-mms.object.json", { messageId, to: first, message: group }),
			element("spec2026__message-failed_4432.object.json", { messageId, to: second, message: group }),
		];
		const ids = await storeElements(elements);
		await Promise.all(ids.map((id) => waitForDeliveries(id, 1)));

		const view: MessageView = await adminGet(`/v1/messages/${messageId}`);
		expect(view.messageId).toBe(messageId);
		expect(view.recipients).toEqual([
			{ recipient: first, status: "delivered", lastEventId: ids[2], errorCode: null, updatedAt: expect.any(String) },
			{ recipient: second, status: "failed", lastEventId: ids[3], errorCode: 4432, updatedAt: expect.any(String) },
		]);
		expect(view.events.map((event) => event.id)).toEqual(ids);
		expect(view.events.map((event) => event.data.sequence)).toEqual([1, 2, 3, 4]);
		expect(view.events[3]?.data.error).toMatchObject({ code: 4432, retryable: false });
		expect(view.deliveries.map((delivery) => delivery.eventId).sort()).toEqual([...ids].sort());
		for (const delivery of view.deliveries) {
			expect(delivery).toEqual({
				id: expect.any(Number),
				eventId: expect.any(String),
				attempt: 1,
				outcome: "delivered",
				httpStatus: 204,
				error: null,
				durationMs: expect.any(Number),
				at: expect.any(String),
			});
		}
		const deliveryIds = view.deliveries.map((delivery) => delivery.id);
		expect(deliveryIds).toEqual([...deliveryIds].sort((a, b) => a - b));
	});

	it("decodes an escaped message id", async () => {
		const messageId = `${newMessageId()} /x`;
		await storeElements([element("spec2026__message-received_sms.object.json", { messageId })]);
		const view: MessageView = await adminGet(`/v1/messages/${encodeURIComponent(messageId)}`);
		expect(view.events).toHaveLength(1);
		expect(view.recipients).toEqual([expect.objectContaining({ status: "received" })]);
	});

	it("answers 404 for a message with no stored events", async () => {
		await expectError(await adminFetch(`/v1/messages/${newMessageId()}`), 404, "not_found");
	});

	it("rejects an overlong message id naming it", async () => {
		const message = await expectError(await adminFetch(`/v1/messages/${"m".repeat(300)}`), 400, "invalid_parameter");
		expect(message.startsWith("messageId: ")).toBe(true);
	});
});
