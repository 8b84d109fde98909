import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { replayEvents } from "../../src/forward/replay";
import { receivedAt } from "../helpers/downstream";
import { storedEvent } from "../helpers/forward";
import { deliveriesOf, markDead } from "../helpers/storage";

/** Forwards that reached the default downstream (the real queue's consumer posts there). */
async function forwardsOf(eventId: string): Promise<number> {
	return (await receivedAt()).filter((request) => request.headers["webhook-id"] === eventId).length;
}

describe("replay", () => {
	it("re-enqueues a dead event with its id and delivers it", async () => {
		// Forwarded first try by the real queue: counted, so the event has no deliveries row yet.
		const event = await storedEvent();
		expect(await deliveriesOf(event.id)).toEqual([]);
		await markDead(event.id);
		const before = await forwardsOf(event.id);

		expect(await replayEvents(env, { dead: true })).toEqual({ enqueued: 1, truncated: false });
		await vi.waitUntil(async () => (await forwardsOf(event.id)) === before + 1, { timeout: 5000 });
		const outcomes = await vi.waitUntil(async () => {
			const rows = await deliveriesOf(event.id);
			return rows.at(-1)?.outcome === "delivered" ? rows.map((row) => row.outcome) : undefined;
		});
		// The replayed job's first try is recorded, unlike the original first try.
		expect(outcomes).toEqual(["dead", "replayed", "delivered"]);
		expect((await deliveriesOf(event.id)).at(-1)).toMatchObject({ attempt: 1, http_status: 204 });
		// Replayed already: a second call finds nothing dead.
		expect(await replayEvents(env, { dead: true })).toEqual({ enqueued: 0, truncated: false });
	});

	it("selects by event ids, by message, and by time range, within the bound", async () => {
		const a = await storedEvent("spec2026__message-sending.object.json");
		const b = await storedEvent("spec2026__message-delivered_sms.object.json", {
			messageId: a.messageId,
			time: "2024-12-18T16:51:30Z",
		});
		const other = await storedEvent("spec2026__message-received_sms.object.json", { time: "2031-01-01T00:00:00Z" });

		expect(await replayEvents(env, { eventIds: [a.id, other.id, a.id] })).toEqual({ enqueued: 2, truncated: false });
		expect(await replayEvents(env, { messageId: a.messageId })).toEqual({ enqueued: 2, truncated: false });
		expect(await replayEvents(env, { since: "2031-01-01T00:00:00Z", until: "2031-01-02T00:00:00Z" })).toEqual({
			enqueued: 1,
			truncated: false,
		});
		expect(await replayEvents(env, { messageId: a.messageId }, 1)).toEqual({ enqueued: 1, truncated: true });
		const replays = async (id: string) => (await deliveriesOf(id)).filter((row) => row.outcome === "replayed").length;
		expect([await replays(a.id), await replays(b.id), await replays(other.id)]).toEqual([3, 1, 2]);
	});

	it("records the replay before the send, and takes the record back when the send fails", async () => {
		const event = await storedEvent();
		await markDead(event.id);
		const realSend = env.FORWARD_QUEUE.sendBatch.bind(env.FORWARD_QUEUE);
		const sendBatch = vi.spyOn(env.FORWARD_QUEUE, "sendBatch").mockRejectedValueOnce(new Error("Queue send failed"));
		try {
			await expect(replayEvents(env, { dead: true })).rejects.toThrow("Queue send failed");
			expect((await deliveriesOf(event.id)).at(-1)?.outcome).toBe("dead");

			let latestAtSend: string | undefined;
			sendBatch.mockImplementationOnce(async (messages, options) => {
				latestAtSend = (await deliveriesOf(event.id)).at(-1)?.outcome;
				return realSend(messages, options);
			});
			expect(await replayEvents(env, { dead: true })).toEqual({ enqueued: 1, truncated: false });
			expect(latestAtSend).toBe("replayed");
		} finally {
			sendBatch.mockRestore();
		}
	});
});
