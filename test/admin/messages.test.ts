import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { NormalizedEvent } from "../../src/bandwidth/normalize";
import { type Delivery, insertDelivery } from "../../src/db/deliveries.repository";
import type { RecipientStatus } from "../../src/db/message-status.repository";
import { adminFetch, adminGet, storeElements } from "../helpers/admin";
import { freshPath, hookUrl, scriptResponses, waitForAllForwarded } from "../helpers/downstream";
import { element, newMessageId } from "../helpers/fixtures";
import { consume, waitForFirstTries } from "../helpers/forward";
import { expectError } from "../helpers/http";
import { insertLargeEvents } from "../helpers/large-rows";
import { eventsOf, messageOfEvent } from "../helpers/storage";

interface MessageView {
	messageId: string;
	recipients: RecipientStatus[];
	events: NormalizedEvent[];
	deliveries: Delivery[];
	nextCursor: string | null;
}

/** A recorded attempt, as the consumer writes one, for an event of the message. */
async function recordAttempt(eventId: string, attempt: number): Promise<void> {
	await insertDelivery(env.DB, {
		event_id: eventId,
		message_id: (await messageOfEvent(eventId)) ?? null,
		destination: "default",
		attempt,
		outcome: "failed",
		http_status: 503,
		error: "HTTP 503: ",
		duration_ms: 5,
		at: new Date().toISOString(),
	}).run();
}

describe("GET /v1/messages/:messageId", () => {
	it("answers the status per recipient, the events by sequence and every delivery attempt, first tries included", async () => {
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
		// The real queue delivers all four first try: listed as attempt 1, without a row id. The
		// other attempts the view lists are the consumer's failures (and what followed them) below.
		await waitForAllForwarded(ids);
		await waitForFirstTries(ids);
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
			firstTry = false,
		) => ({
			id: firstTry ? null : expect.any(Number),
			eventId,
			destination: "default",
			attempt,
			outcome,
			httpStatus,
			error,
			durationMs: expect.any(Number),
			at: expect.any(String),
			nextAttemptAt: outcome === "failed" ? expect.any(String) : null,
		});
		// Every attempt, in the order they happened: the four first tries, then the consumer's.
		expect(view.deliveries.slice(0, 4)).toEqual(
			expect.arrayContaining(ids.map((id) => attemptOf(id, 1, "delivered", 204, null, true))),
		);
		expect(view.deliveries.slice(4)).toEqual([
			attemptOf(sending, 1, "failed", 503, "HTTP 503: "),
			attemptOf(failed, 1, "dead", 410, "HTTP 410: gone"),
			attemptOf(sending, 2, "delivered", 204, null),
		]);
		const times = view.deliveries.map((delivery) => delivery.at);
		expect(times).toEqual([...times].sort());
	});

	it("lists a message's first-try successes as attempt 1, each with its status, duration and time", async () => {
		const messageId = newMessageId();
		const ids = await storeElements([
			element("spec2026__message-sending.object.json", { messageId }),
			element("spec2026__message-delivered_sms.object.json", { messageId }),
		]);
		await waitForAllForwarded(ids);
		// Wait until the consumer has written what it writes for them: two first tries, no deliveries row.
		const outcomes = await waitForFirstTries(ids);
		expect([...outcomes.values()]).toEqual([["delivered"], ["delivered"]]);

		const view: MessageView = await adminGet(`/v1/messages/${messageId}`);
		expect(view.events.map((event) => event.id)).toEqual(ids);
		expect(view.deliveries.map((delivery) => delivery.eventId).sort()).toEqual([...ids].sort());
		for (const delivery of view.deliveries) {
			expect(delivery).toEqual({
				id: null,
				eventId: expect.any(String),
				destination: "default",
				attempt: 1,
				outcome: "delivered",
				httpStatus: 204,
				error: null,
				durationMs: expect.any(Number),
				at: expect.any(String),
				nextAttemptAt: null,
			});
			expect(Date.parse(delivery.at)).toBeGreaterThan(Date.now() - 60_000);
		}
	});

	it("pages the events and the deliveries together: limit per list, one cursor for both", async () => {
		const messageId = newMessageId();
		const to = "+15550007777";
		const one = { messageId, to, message: { to: [to] } };
		const ids = await storeElements([
			element("spec2026__message-sending.object.json", one),
			element("spec2026__message-sent.object.json", one),
			element("spec2026__message-delivered_sms.object.json", one),
		]);
		await waitForAllForwarded(ids);
		await waitForFirstTries(ids);
		for (const attempt of [1, 2, 3, 4, 5]) await recordAttempt(ids[0] ?? "", attempt);
		const rowsOf = (view: MessageView) => view.deliveries.filter((delivery) => delivery.id !== null);

		const first: MessageView = await adminGet(`/v1/messages/${messageId}?limit=2`);
		expect(first.events.map((event) => event.id)).toEqual(ids.slice(0, 2));
		// The first page also lists the three first tries, which have no row to page by.
		expect(first.deliveries.filter((delivery) => delivery.id === null)).toHaveLength(3);
		expect(rowsOf(first).map((delivery) => delivery.attempt)).toEqual([1, 2]);
		expect(first.recipients).toEqual([expect.objectContaining({ status: "delivered" })]);
		expect(first.nextCursor).not.toBeNull();

		const second: MessageView = await adminGet(`/v1/messages/${messageId}?limit=2&cursor=${first.nextCursor}`);
		expect(second.events.map((event) => event.id)).toEqual(ids.slice(2));
		expect(second.deliveries.map((delivery) => delivery.attempt)).toEqual([3, 4]);
		expect(second.recipients).toEqual(first.recipients);
		expect(second.nextCursor).not.toBeNull();

		// The events are all answered: only the deliveries go on.
		const third: MessageView = await adminGet(`/v1/messages/${messageId}?limit=2&cursor=${second.nextCursor}`);
		expect(third.events).toEqual([]);
		expect(third.deliveries.map((delivery) => delivery.attempt)).toEqual([5]);
		expect(third.nextCursor).toBeNull();

		const whole: MessageView = await adminGet(`/v1/messages/${messageId}`);
		expect(whole.events).toHaveLength(3);
		expect(whole.deliveries).toHaveLength(3 + 5);
		expect(whole.nextCursor).toBeNull();
	});

	it("ends the events once a page holds 8 MB of them, with a cursor to the rest", async () => {
		const messageId = newMessageId();
		const ids = await insertLargeEvents(6, { messageId, from: "+15550008888", baseTime: "2031-08-01T00:00:00.000Z" });
		const first: MessageView = await adminGet(`/v1/messages/${messageId}?limit=500`);
		expect(first.events.map((event) => event.id)).toEqual(ids.slice(0, 4));
		expect(first.nextCursor).not.toBeNull();
		const second: MessageView = await adminGet(`/v1/messages/${messageId}?limit=500&cursor=${first.nextCursor}`);
		expect(second.events.map((event) => event.id)).toEqual(ids.slice(4));
		expect(second.nextCursor).toBeNull();
	}, 30_000);

	it.each([
		["limit=0", "limit"],
		["limit=501", "limit"],
		["cursor=not-a-cursor", "cursor"],
		// A deliveries cursor is well-formed but belongs to another list.
		[`cursor=${btoa("[12]").replaceAll("=", "")}`, "cursor"],
		["status=dead", "status"],
	])("rejects %s naming the parameter", async (query, name) => {
		const messageId = newMessageId();
		await storeElements([element("spec2026__message-received_sms.object.json", { messageId })]);
		const message = await expectError(await adminFetch(`/v1/messages/${messageId}?${query}`), 400, "invalid_parameter");
		expect(message.startsWith(`${name}: `)).toBe(true);
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
