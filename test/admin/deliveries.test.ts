import { describe, expect, it } from "vitest";
import type { Delivery } from "../../src/db/deliveries.repository";
import type { Page } from "../../src/routes/admin/cursor";
import { adminFetch, adminGet } from "../helpers/admin";
import { freshPath, hookUrl, scriptResponses } from "../helpers/downstream";
import { consume, jobFor, type StoredEvent, storedEvent } from "../helpers/forward";
import { expectError } from "../helpers/http";
import { insertLargeDeliveries } from "../helpers/large-rows";
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
	it("lists the attempts of an event, and filters by outcome", async () => {
		// Delivered first try by the real queue: counted, not listed.
		const event = await storedEvent();
		const eventId = event.id;
		const firstTry: DeliveryPage = await adminGet(`/v1/deliveries?eventId=${eventId}`);
		expect(firstTry).toEqual({ items: [], nextCursor: null });

		await attempt(event, 1, 503);
		await attempt(event, 2, 410, "gone");

		const all: DeliveryPage = await adminGet(`/v1/deliveries?eventId=${eventId}`);
		expect(all.items).toEqual([
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
			},
		]);
		expect(all.nextCursor).toBeNull();

		const dead: DeliveryPage = await adminGet(`/v1/deliveries?status=dead&eventId=${eventId}`);
		expect(dead.items.map((item) => item.outcome)).toEqual(["dead"]);
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
		expect(preexisting.items.map((item) => item.outcome)).toEqual(["failed", "failed", "failed", "failed", "dead"]);

		const seen: number[] = [];
		let cursor: string | null = null;
		let attempts = 1;
		do {
			const page: DeliveryPage = await adminGet(
				`/v1/deliveries?eventId=${eventId}&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
			);
			seen.push(...page.items.map((item) => item.id));
			cursor = page.nextCursor;
			// Between pages the consumer records another failed attempt, of the event replayed after it died.
			await attempt(event, attempts, 503, "", true);
			attempts += 1;
		} while (cursor !== null && seen.length < 50);

		for (const { id } of preexisting.items) expect(seen.filter((candidate) => candidate === id)).toHaveLength(1);
		expect(seen.length).toBeGreaterThan(preexisting.items.length);
		expect(new Set(seen).size).toBe(seen.length);
		expect(seen).toEqual([...seen].sort((a, b) => a - b));
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
