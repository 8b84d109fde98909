import { describe, expect, it, vi } from "vitest";
import type { Delivery } from "../../src/db/deliveries.repository";
import type { Page } from "../../src/routes/admin/cursor";
import { adminFetch, adminGet } from "../helpers/admin";
import { freshPath, hookUrl, scriptResponses } from "../helpers/downstream";
import { consume, jobFor, type StoredEvent, storedEvent } from "../helpers/forward";
import { expectError } from "../helpers/http";
import { insertLargeDeliveries } from "../helpers/large-rows";
import { BACKGROUND_WAIT_MS } from "../helpers/wait";
import { TEST_ENV } from "../setup/test-env";

type DeliveryPage = Page<Delivery>;

const SCHEDULE_LENGTH = TEST_ENV.FORWARD_RETRY_SCHEDULE.split(",").length;

/** One attempt by the forward consumer against a downstream that answers `status`. */
async function attempt(event: StoredEvent, attempts: number, status: number, body = "", replay = false): Promise<void> {
	const path = freshPath();
	await scriptResponses(path, [{ status, body }]);
	const job = replay ? { ...jobFor(event), replay: true } : jobFor(event);
	await consume([{ body: job, attempts }], { FORWARD_URL: hookUrl(path) });
}

describe("GET /v1/deliveries", () => {
	it("lists every attempt of an event, its first try included, and filters by outcome", async () => {
		// Delivered first try by the real queue: recorded with its batch's first tries, listed as attempt 1.
		const event = await storedEvent();
		const eventId = event.id;
		const delivered = {
			id: null,
			eventId,
			destination: "default",
			attempt: 1,
			outcome: "delivered",
			httpStatus: 204,
			error: null,
			durationMs: expect.any(Number),
			at: expect.any(String),
			nextAttemptAt: null,
		};
		const firstTry = await vi.waitUntil(
			async () => {
				const page: DeliveryPage = await adminGet(`/v1/deliveries?eventId=${eventId}`);
				return page.items.length > 0 ? page : undefined;
			},
			{ timeout: BACKGROUND_WAIT_MS, interval: 50 },
		);
		expect(firstTry).toEqual({ items: [delivered], nextCursor: null });

		const failedAt = Date.now();
		await attempt(event, 1, 503);
		await attempt(event, 2, 410, "gone");

		const all: DeliveryPage = await adminGet(`/v1/deliveries?eventId=${eventId}`);
		expect(all.items).toEqual([
			delivered,
			{
				id: expect.any(Number),
				eventId,
				destination: "default",
				attempt: 1,
				outcome: "failed",
				httpStatus: 503,
				error: "HTTP 503: ",
				durationMs: expect.any(Number),
				at: expect.any(String),
				nextAttemptAt: expect.any(String),
			},
			{
				id: expect.any(Number),
				eventId,
				destination: "default",
				attempt: 2,
				outcome: "dead",
				httpStatus: 410,
				error: "HTTP 410: gone",
				durationMs: expect.any(Number),
				at: expect.any(String),
				nextAttemptAt: null,
			},
		]);
		expect(all.nextCursor).toBeNull();
		// The failed attempt says when the next comes: the schedule's first step, 5 s ± 20 %.
		const [, failed] = all.items;
		const nextIn = Date.parse(failed?.nextAttemptAt ?? "") - Date.parse(failed?.at ?? "");
		expect(nextIn).toBeGreaterThanOrEqual(4000);
		expect(nextIn).toBeLessThanOrEqual(6000);
		expect(Date.parse(failed?.at ?? "")).toBeGreaterThanOrEqual(failedAt);

		const dead: DeliveryPage = await adminGet(`/v1/deliveries?status=dead&eventId=${eventId}`);
		expect(dead.items.map((item) => item.outcome)).toEqual(["dead"]);
		const firstTries: DeliveryPage = await adminGet(`/v1/deliveries?status=delivered&eventId=${eventId}`);
		expect(firstTries.items).toEqual([delivered]);
		const elsewhere: DeliveryPage = await adminGet(`/v1/deliveries?eventId=${eventId}&destination=billing`);
		expect(elsewhere.items).toEqual([]);
		const everyDead: DeliveryPage = await adminGet("/v1/deliveries?status=dead&limit=500");
		expect(everyDead.items.length).toBeGreaterThan(0);
		expect(everyDead.items.every((item) => item.outcome === "dead")).toBe(true);
		expect(everyDead.items.some((item) => item.eventId === eventId)).toBe(true);
	});

	it("pages by insertion order without skipping or repeating a row while attempts are recorded", async () => {
		const event = await storedEvent();
		const eventId = event.id;
		for (const attempts of [1, 2, 3, 4]) await attempt(event, attempts, 503);
		await attempt(event, SCHEDULE_LENGTH + 1, 503);
		const preexisting: DeliveryPage = await adminGet(`/v1/deliveries?eventId=${eventId}`);
		expect(preexisting.items.filter((item) => item.id !== null).map((item) => item.outcome)).toEqual([
			"failed",
			"failed",
			"failed",
			"failed",
			"dead",
		]);

		const seen: number[] = [];
		let cursor: string | null = null;
		let attempts = 1;
		do {
			const page: DeliveryPage = await adminGet(
				`/v1/deliveries?eventId=${eventId}&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
			);
			seen.push(...page.items.flatMap((item) => (item.id === null ? [] : [item.id])));
			cursor = page.nextCursor;
			// Between pages the consumer records another failed attempt, of the event replayed after it died.
			await attempt(event, attempts, 503, "", true);
			attempts += 1;
		} while (cursor !== null && seen.length < 50);

		for (const { id } of preexisting.items) {
			if (id !== null) expect(seen.filter((candidate) => candidate === id)).toHaveLength(1);
		}
		expect(seen.length).toBeGreaterThan(preexisting.items.length);
		expect(new Set(seen).size).toBe(seen.length);
		expect(seen).toEqual([...seen].sort((a, b) => a - b));
	});

	it("lists only the deliveries dead now with current=true, as the stats count them", async () => {
		const [stillDead, replayed] = [await storedEvent(), await storedEvent()];
		await attempt(stillDead, 1, 410, "gone");
		await attempt(replayed, 1, 410, "gone");
		// Replayed since, and delivered: its dead row stays in the history, not in the dead list.
		await attempt(replayed, 1, 204, "", true);
		const ours = (page: DeliveryPage) =>
			page.items.filter((item) => [stillDead.id, replayed.id].includes(item.eventId)).map((item) => item.eventId);
		const history: DeliveryPage = await adminGet("/v1/deliveries?status=dead&limit=500");
		expect(ours(history).sort()).toEqual([stillDead.id, replayed.id].sort());
		const now: DeliveryPage = await adminGet("/v1/deliveries?status=dead&current=true&limit=500");
		expect(ours(now)).toEqual([stillDead.id]);
		expect(now.items.every((item) => item.outcome === "dead")).toBe(true);
		const count = await adminGet<{ dead: number }>("/v1/stats");
		expect(count.dead).toBe(now.items.length);
		expect((await adminFetch("/v1/deliveries?current=true")).status).toBe(400);
	});

	it("ends a page once it holds 8 MB of attempts, with a cursor to the rest", async () => {
		const eventId = await insertLargeDeliveries(6);
		const first: DeliveryPage = await adminGet(`/v1/deliveries?eventId=${eventId}&limit=500`);
		expect(first.items.map((item) => item.attempt)).toEqual([1, 2, 3, 4]);
		expect(first.nextCursor).not.toBeNull();
		const second: DeliveryPage = await adminGet(
			`/v1/deliveries?eventId=${eventId}&limit=500&cursor=${first.nextCursor}`,
		);
		expect(second.items.map((item) => item.attempt)).toEqual([5, 6]);
		expect(second.nextCursor).toBeNull();
	}, 30_000);

	it.each([
		["status=lost", "status"],
		["eventId=", "eventId"],
		["limit=1000", "limit"],
		["cursor=WyJ4Il0", "cursor"],
		["outcome=dead", "outcome"],
	])("rejects %s naming the parameter", async (query, name) => {
		const message = await expectError(await adminFetch(`/v1/deliveries?${query}`), 400, "invalid_parameter");
		expect(message.startsWith(`${name}: `)).toBe(true);
	});
});
