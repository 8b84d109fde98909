import { describe, expect, it } from "vitest";
import type { NormalizedEvent } from "../../src/bandwidth/normalize";
import type { Delivery } from "../../src/db/deliveries.repository";
import type { RecipientStatus } from "../../src/db/message-status.repository";
import { adminFetch, adminGet, storeElements } from "../helpers/admin";
import { freshPath, hookUrl, scriptResponses, waitForForwarded } from "../helpers/downstream";
import { element, newMessageId } from "../helpers/fixtures";
import { consume, deliveryCounts, settledDeliveryCounts, waitForCounted } from "../helpers/forward";
import { expectError } from "../helpers/http";
import { eventsOf } from "../helpers/storage";

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
		// The real queue delivers all four first try: counted, no rows. The attempts the view lists
		// are the consumer's failures (and what followed them) below.
		await Promise.all(ids.map((id) => waitForForwarded(id)));
		const json = new Map((await eventsOf(messageId)).map((row) => [row.id, row.normalized_json]));
		const path = freshPath();
		const [sending, , , failed] = ids as [string, string, string, string];
		await scriptResponses(path, [{ status: 503 }], sending);
		await scriptResponses(path, [{ status: 410, body: "gone" }], failed);
		const attempt = (eventId: string, attempts: number) =>
			consume([{ body: { eventId, event: json.get(eventId) }, attempts }], { FORWARD_URL: hookUrl(path) });
		await attempt(sending, 1);
		await attempt(failed, 1);
		await attempt(sending, 2);

		const view: MessageView = await adminGet(`/v1/messages/${messageId}`);
		expect(view.messageId).toBe(messageId);
		expect(view.recipients).toEqual([
			{ recipient: first, status: "delivered", lastEventId: ids[2], errorCode: null, updatedAt: expect.any(String) },
			{ recipient: second, status: "failed", lastEventId: ids[3], errorCode: 4432, updatedAt: expect.any(String) },
		]);
		expect(view.events.map((event) => event.id)).toEqual(ids);
		expect(view.events.map((event) => event.data.sequence)).toEqual([1, 2, 3, 4]);
		expect(view.events[3]?.data.error).toMatchObject({ code: 4432, retryable: false });
		const attemptOf = (
			eventId: string,
			attempt: number,
			outcome: string,
			httpStatus: number,
			error: string | null,
		) => ({
			id: expect.any(Number),
			eventId,
			attempt,
			outcome,
			httpStatus,
			error,
			durationMs: expect.any(Number),
			at: expect.any(String),
		});
		// Every recorded attempt, in the order they happened.
		expect(view.deliveries).toEqual([
			attemptOf(sending, 1, "failed", 503, "HTTP 503: "),
			attemptOf(failed, 1, "dead", 410, "HTTP 410: gone"),
			attemptOf(sending, 2, "delivered", 204, null),
		]);
		const deliveryIds = view.deliveries.map((delivery) => delivery.id);
		expect(deliveryIds).toEqual([...deliveryIds].sort((a, b) => a - b));
	});

	it("answers no deliveries for a message whose events were all delivered first try", async () => {
		const before = await settledDeliveryCounts();
		const messageId = newMessageId();
		const ids = await storeElements([
			element("spec2026__message-sending.object.json", { messageId }),
			element("spec2026__message-delivered_sms.object.json", { messageId }),
		]);
		await Promise.all(ids.map((id) => waitForForwarded(id)));
		// Wait until the consumer has written what it writes for them: two first-try counts.
		await waitForCounted(before, { delivered: 2 });
		expect((await deliveryCounts()).delivered - before.delivered).toBe(2);

		const view: MessageView = await adminGet(`/v1/messages/${messageId}`);
		expect(view.events.map((event) => event.id)).toEqual(ids);
		expect(view.deliveries).toEqual([]);
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
