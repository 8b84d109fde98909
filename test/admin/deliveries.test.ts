import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type Delivery, type DeliveryOutcome, insertDelivery } from "../../src/db/deliveries.repository";
import type { Page } from "../../src/routes/admin/cursor";
import { adminFetch, adminGet, storeElements } from "../helpers/admin";
import { element } from "../helpers/fixtures";
import { expectError } from "../helpers/http";
import { waitForDeliveries } from "../helpers/storage";

type DeliveryPage = Page<Delivery>;

async function recordAttempt(eventId: string, outcome: DeliveryOutcome, attempt = 2): Promise<void> {
	await insertDelivery(env.DB, {
		event_id: eventId,
		attempt,
		outcome,
		http_status: outcome === "dead" ? 410 : null,
		error: outcome === "dead" ? "HTTP 410: gone" : null,
		duration_ms: 12,
		at: new Date().toISOString(),
	}).run();
}

async function storedAndDelivered(): Promise<string> {
	const [id] = await storeElements([element("spec2026__message-delivered_sms.object.json")]);
	if (id === undefined) throw new Error("nothing stored");
	await waitForDeliveries(id, 1);
	return id;
}

describe("GET /v1/deliveries", () => {
	it("lists the attempts of an event, and filters by outcome", async () => {
		const eventId = await storedAndDelivered();
		await recordAttempt(eventId, "dead");

		const all: DeliveryPage = await adminGet(`/v1/deliveries?eventId=${eventId}`);
		expect(all.items).toEqual([
			{
				id: expect.any(Number),
				eventId,
				attempt: 1,
				outcome: "delivered",
				httpStatus: 204,
				error: null,
				durationMs: expect.any(Number),
				at: expect.any(String),
			},
			{
				id: expect.any(Number),
				eventId,
				attempt: 2,
				outcome: "dead",
				httpStatus: 410,
				error: "HTTP 410: gone",
				durationMs: 12,
				at: expect.any(String),
			},
		]);
		expect(all.nextCursor).toBeNull();

		const dead: DeliveryPage = await adminGet(`/v1/deliveries?status=dead&eventId=${eventId}`);
		expect(dead.items.map((item) => item.outcome)).toEqual(["dead"]);
		const everyDead: DeliveryPage = await adminGet("/v1/deliveries?status=dead&limit=500");
		expect(everyDead.items.length).toBeGreaterThan(0);
		expect(everyDead.items.every((item) => item.outcome === "dead")).toBe(true);
		expect(everyDead.items.some((item) => item.eventId === eventId)).toBe(true);
	});

	it("pages by insertion order without skipping or repeating a row while attempts are recorded", async () => {
		const eventId = await storedAndDelivered();
		for (const outcome of ["failed", "failed", "failed", "dead", "replayed"] as const)
			await recordAttempt(eventId, outcome);
		const preexisting: DeliveryPage = await adminGet(`/v1/deliveries?eventId=${eventId}`);
		expect(preexisting.items).toHaveLength(6);

		const seen: number[] = [];
		let cursor: string | null = null;
		do {
			const page: DeliveryPage = await adminGet(
				`/v1/deliveries?eventId=${eventId}&limit=4${cursor ? `&cursor=${cursor}` : ""}`,
			);
			seen.push(...page.items.map((item) => item.id));
			cursor = page.nextCursor;
			await recordAttempt(eventId, "delivered");
		} while (cursor !== null && seen.length < 50);

		for (const { id } of preexisting.items) expect(seen.filter((candidate) => candidate === id)).toHaveLength(1);
		expect(new Set(seen).size).toBe(seen.length);
		expect(seen).toEqual([...seen].sort((a, b) => a - b));
	});

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
