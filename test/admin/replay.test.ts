import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import { acquireLease, releaseLease } from "../../src/db/leases.repository";
import { REPLAY_LEASE, REPLAY_LEASE_MS } from "../../src/forward/replay";
import { adminFetch, adminPost, storeElements } from "../helpers/admin";
import { receivedAt } from "../helpers/downstream";
import { element, newMessageId } from "../helpers/fixtures";
import { expectError } from "../helpers/http";
import { deliveriesOf, markDead, waitForDeliveries } from "../helpers/storage";
import { BACKGROUND_WAIT_MS } from "../helpers/wait";
import { TEST_ENV } from "../setup/test-env";

async function arrivals(eventId: string, count: number) {
	return vi.waitUntil(
		async () => {
			const requests = (await receivedAt()).filter((request) => request.headers["webhook-id"] === eventId);
			return requests.length >= count ? requests : undefined;
		},
		{ timeout: BACKGROUND_WAIT_MS, interval: 20 },
	);
}

describe("POST /v1/replay", () => {
	it("re-enqueues every dead event with its id, and the downstream receives it again", async () => {
		const [eventId] = await storeElements([element("spec2026__message-failed_4432.object.json")]);
		if (eventId === undefined) throw new Error("nothing stored");
		await arrivals(eventId, 1);
		// Delivered first try: counted, so it has no deliveries row until it is marked dead.
		expect(await deliveriesOf(eventId)).toEqual([]);
		await markDead(eventId);

		const response = await adminPost("/v1/replay", { dead: true });
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({ enqueued: 1, truncated: false });

		const [, replayed] = await arrivals(eventId, 2);
		const secret = TEST_ENV.FORWARD_SIGNING_SECRET.split(" ")[0] ?? "";
		expect(new Webhook(secret).verify(replayed?.body ?? "", replayed?.headers ?? {})).toMatchObject({
			id: eventId,
			type: "bandwidth.message.failed",
		});
		// The replay's delivery is recorded even though it is the replayed job's first try.
		const attempts = await waitForDeliveries(eventId, 3);
		expect(attempts.map((attempt) => [attempt.outcome, attempt.attempt])).toEqual([
			["dead", 8],
			["replayed", 0],
			["delivered", 1],
		]);

		// Replayed and delivered: no longer dead.
		expect(await (await adminPost("/v1/replay", { dead: true })).json()).toEqual({ enqueued: 0, truncated: false });
	});

	it("re-enqueues chosen events by id and by message", async () => {
		const messageId = newMessageId();
		const ids = await storeElements([
			element("spec2026__message-sending.object.json", { messageId }),
			element("spec2026__message-delivered_sms.object.json", { messageId }),
		]);
		await Promise.all(ids.map((id) => arrivals(id, 1)));

		const byId = await adminPost("/v1/replay", { eventIds: [ids[1], "evt_unknownunknownunknownun"] });
		expect(await byId.json()).toEqual({ enqueued: 1, truncated: false });
		const byMessage = await adminPost("/v1/replay", { messageId });
		expect(await byMessage.json()).toEqual({ enqueued: 2, truncated: false });
		await arrivals(ids[0] ?? "", 2);
		await arrivals(ids[1] ?? "", 3);
		expect((await deliveriesOf(ids[0] ?? "")).filter((row) => row.outcome === "replayed")).toHaveLength(1);
		// Only the replays' attempts have rows: the first deliveries were first-try successes.
		const outcomes = async (id: string | undefined, count: number) =>
			(await waitForDeliveries(id ?? "", count)).map((row) => `${row.outcome}@${row.attempt}`).sort();
		expect(await outcomes(ids[0], 2)).toEqual(["delivered@1", "replayed@0"]);
		expect(await outcomes(ids[1], 4)).toEqual(["delivered@1", "delivered@1", "replayed@0", "replayed@0"]);
	});

	it.each([
		[{}, "body"],
		[{ dead: false }, "body"],
		[{ eventIds: [] }, "eventIds"],
		[{ since: "last week" }, "since"],
		[{ since: "2031-01-01T00:00:00Z", until: "2031-13-01T00:00:00Z" }, "until"],
		[{ messageId: "" }, "messageId"],
	])("rejects %j naming what is wrong", async (body, name) => {
		const message = await expectError(await adminPost("/v1/replay", body), 400, "invalid_parameter");
		expect(message.startsWith(`${name}: `)).toBe(true);
	});

	it("rejects a body that is not JSON", async () => {
		const response = await adminFetch("/v1/replay", { method: "POST", body: "{dead: true" });
		await expectError(response, 400, "invalid_json");
		const form = await adminFetch("/v1/replay", {
			method: "POST",
			headers: { "content-type": "application/x-www-form-urlencoded" },
			body: "dead=true",
		});
		await expectError(form, 415, "unsupported_media_type");
	});
});

describe("POST /v1/replay, one at a time", () => {
	it("answers 409 replay_in_progress while another replay holds the lease, and takes over a lease left to expire", async () => {
		expect(await acquireLease(env.DB, REPLAY_LEASE, "a running replay", new Date(), REPLAY_LEASE_MS)).toBe(true);
		const message = await expectError(await adminPost("/v1/replay", { dead: true }), 409, "replay_in_progress");
		expect(message).toContain("another replay");
		await releaseLease(env.DB, REPLAY_LEASE, "a running replay");

		// A replay that crashed while it held the lease: its lease ran out a minute ago.
		const crashedAt = new Date(Date.now() - REPLAY_LEASE_MS - 60_000);
		expect(await acquireLease(env.DB, REPLAY_LEASE, "a crashed replay", crashedAt, REPLAY_LEASE_MS)).toBe(true);
		expect((await adminPost("/v1/replay", { dead: true })).status).toBe(200);
		// Each call gives the lease back when it is done.
		expect((await adminPost("/v1/replay", { eventIds: ["evt_unknownunknownunknownun"] })).status).toBe(200);
		expect((await adminPost("/v1/replay", { dead: true })).status).toBe(200);
	});

	it("sends each dead event once when two dead replays are posted at once", async () => {
		const ids = await storeElements([
			element("spec2026__message-sending.object.json"),
			element("spec2026__message-delivered_sms.object.json"),
			element("spec2026__message-failed_4432.object.json"),
		]);
		await Promise.all(ids.map((id) => arrivals(id, 1)));
		for (const id of ids) await markDead(id);

		const responses = await Promise.all([
			adminPost("/v1/replay", { dead: true }),
			adminPost("/v1/replay", { dead: true }),
		]);
		let enqueued = 0;
		for (const response of responses) {
			if (response.status === 409) {
				await expectError(response, 409, "replay_in_progress");
				continue;
			}
			expect(response.status).toBe(200);
			enqueued += (await response.json<{ enqueued: number }>()).enqueued;
		}
		expect(enqueued).toBe(3);
		await Promise.all(ids.map((id) => arrivals(id, 2)));
		await new Promise((resolve) => setTimeout(resolve, 300));
		for (const id of ids) {
			expect((await receivedAt()).filter((request) => request.headers["webhook-id"] === id)).toHaveLength(2);
		}
	});
});
