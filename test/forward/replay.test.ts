import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { insertDelivery } from "../../src/db/deliveries.repository";
import { deadEventIds, REPLAY_CLAIM_TTL_MS } from "../../src/db/replay-claims.repository";
import { readStats } from "../../src/db/stats.repository";
import { REPLAY_LIMIT, replayEvents } from "../../src/forward/replay";
import { receivedAt } from "../helpers/downstream";
import { newMessageId } from "../helpers/fixtures";
import { type StoredEvent, storedEvent } from "../helpers/forward";
import { insertLargeEvents } from "../helpers/large-rows";
import { deliveriesOf, markDead } from "../helpers/storage";
import { BACKGROUND_WAIT_MS } from "../helpers/wait";

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
		await vi.waitUntil(async () => (await forwardsOf(event.id)) === before + 1, { timeout: BACKGROUND_WAIT_MS });
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
		const other = await storedEvent("spec2026__message-received_sms.object.json", { time: "2025-06-01T07:13:00Z" });

		expect(await replayEvents(env, { eventIds: [a.id, other.id, a.id] })).toEqual({ enqueued: 2, truncated: false });
		expect(await replayEvents(env, { messageId: a.messageId })).toEqual({ enqueued: 2, truncated: false });
		expect(await replayEvents(env, { since: "2025-06-01T07:13:00Z", until: "2025-06-01T07:14:00Z" })).toEqual({
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

/** Events delivered first try by the real queue, then recorded dead as the consumer records a give-up. */
async function deadEvents(count: number): Promise<StoredEvent[]> {
	const events: StoredEvent[] = [];
	for (let i = 0; i < count; i += 1) events.push(await storedEvent());
	for (const event of events) await markDead(event.id);
	return events;
}

/** Waits until the event's latest deliveries row is a delivery, and answers its outcomes in order. */
async function outcomesOnceDelivered(eventId: string): Promise<string[]> {
	return vi.waitUntil(
		async () => {
			const rows = await deliveriesOf(eventId);
			return rows.at(-1)?.outcome === "delivered" ? rows.map((row) => row.outcome) : undefined;
		},
		{ timeout: BACKGROUND_WAIT_MS, interval: 20 },
	);
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

/** The real D1 binding, whose statements starting with `sql` fail as they would in an outage. */
function failingOn(db: D1Database, sql: string): D1Database {
	return new Proxy(db, {
		get(target, property) {
			if (property === "prepare") {
				return (query: string) => {
					if (query.trimStart().startsWith(sql)) throw new Error("D1_ERROR: simulated outage");
					return target.prepare(query);
				};
			}
			const value = Reflect.get(target, property);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
}

describe("replay of dead events", () => {
	it("claims each dead event once when two replays run at once: the downstream receives each once", async () => {
		const events = await deadEvents(3);
		const before = await Promise.all(events.map((event) => forwardsOf(event.id)));

		const [first, second] = await Promise.all([replayEvents(env, { dead: true }), replayEvents(env, { dead: true })]);
		expect(first.enqueued + second.enqueued).toBe(3);

		for (const event of events)
			expect(await outcomesOnceDelivered(event.id)).toEqual(["dead", "replayed", "delivered"]);
		await settle();
		expect(await Promise.all(events.map((event) => forwardsOf(event.id)))).toEqual(before.map((n) => n + 1));
	});

	it("keeps the event dead when the send fails, and when the clean-up fails too, lists it dead once the claim expires", async () => {
		const event = await storedEvent();
		await markDead(event.id);
		const deadAt = (now: number) => deadEventIds(env.DB, new Date(now), REPLAY_LIMIT);
		const sendBatch = vi.spyOn(env.FORWARD_QUEUE, "sendBatch").mockRejectedValue(new Error("Queue send failed"));
		try {
			await expect(replayEvents(env, { dead: true })).rejects.toThrow("Queue send failed");
			expect(await deadAt(Date.now())).toContain(event.id);
			expect((await deliveriesOf(event.id)).map((row) => row.outcome)).toEqual(["dead"]);

			// The send fails and so does the write that takes the claim back.
			const brokenDb = failingOn(env.DB, "DELETE FROM deliveries");
			await expect(replayEvents({ ...env, DB: brokenDb }, { dead: true })).rejects.toThrow("Queue send failed");
		} finally {
			sendBatch.mockRestore();
		}
		// Claimed: a replay in flight for now, so a concurrent {"dead": true} leaves it alone…
		expect(await deadAt(Date.now())).not.toContain(event.id);
		// …and dead again once the claim has gone unanswered for longer than a claim lasts.
		expect(await deadAt(Date.now() + REPLAY_CLAIM_TTL_MS + 1000)).toContain(event.id);
	});

	it("heals a replay cancelled between its claim and its send: the event is dead again once the claim expires", async () => {
		const event = await storedEvent();
		await markDead(event.id);
		const since = new Date(Date.now() - 3600_000).toISOString();
		const deadBefore = (await readStats(env.DB, since)).dead;
		// What a Worker cancelled right after its claim leaves: the `replayed` row, and no send.
		await insertDelivery(env.DB, {
			event_id: event.id,
			message_id: event.messageId,
			destination: "default",
			attempt: 0,
			outcome: "replayed",
			http_status: null,
			error: null,
			duration_ms: null,
			at: new Date(Date.now() - 11 * 60_000).toISOString(),
		}).run();

		expect((await readStats(env.DB, since)).dead).toBe(deadBefore);
		const before = await forwardsOf(event.id);
		expect(await replayEvents(env, { dead: true })).toEqual({ enqueued: 1, truncated: false });
		expect(await outcomesOnceDelivered(event.id)).toEqual(["dead", "replayed", "replayed", "delivered"]);
		await settle();
		expect(await forwardsOf(event.id)).toBe(before + 1);
	});

	it("replays events near D1's row limit a slice at a time, each once, by reference", async () => {
		const messageId = newMessageId();
		const ids = await insertLargeEvents(6, { messageId, from: "+15550006666", baseTime: "2031-09-01T00:00:00.000Z" });
		expect(await replayEvents(env, { messageId })).toEqual({ enqueued: 6, truncated: false });
		// Too large to travel inside a queue message: the consumer reads each back from D1.
		for (const id of ids) expect(await outcomesOnceDelivered(id)).toEqual(["replayed", "delivered"]);
		await settle();
		expect(await Promise.all(ids.map(forwardsOf))).toEqual([1, 1, 1, 1, 1, 1]);
	}, 30_000);
});
