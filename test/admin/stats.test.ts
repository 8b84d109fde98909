import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { insertDelivery } from "../../src/db/deliveries.repository";
import type { Stats } from "../../src/db/stats.repository";
import { adminFetch, adminGet, storeElements } from "../helpers/admin";
import { postCallback } from "../helpers/callback";
import { element, newMessageId } from "../helpers/fixtures";
import { expectError } from "../helpers/http";
import { waitForDeliveries } from "../helpers/storage";

describe("GET /v1/stats", () => {
	it("counts events by type, statuses, error codes, quarantined elements and dead events since a time", async () => {
		const since = new Date().toISOString();
		const outbound = newMessageId();
		const ids = await storeElements([
			element("spec2026__message-sending.object.json", { messageId: outbound }),
			element("spec2026__message-delivered_sms.object.json", { messageId: outbound, to: "+15554443333" }),
			element("spec2026__message-failed_4432.object.json"),
			element("spec2026__message-failed_4432.object.json"),
			element("spec2026__message-received_sms.object.json"),
		]);
		const invalid = element("spec2026__message-received_sms.object.json");
		invalid.time = "soon";
		await postCallback([invalid]);
		await Promise.all(ids.map((id) => waitForDeliveries(id, 1)));
		await insertDelivery(env.DB, {
			event_id: ids[4] ?? "",
			attempt: 8,
			outcome: "dead",
			http_status: null,
			error: "gave up",
			duration_ms: null,
			at: new Date().toISOString(),
		}).run();

		const stats: Stats = await adminGet(`/v1/stats?since=${since}`);
		expect(stats).toEqual({
			since,
			events: {
				total: 5,
				byType: {
					"bandwidth.message.sending": 1,
					"bandwidth.message.delivered": 1,
					"bandwidth.message.failed": 2,
					"bandwidth.message.received": 1,
				},
				// The sending and the delivered event are about the same recipient: one status, delivered.
				byStatus: { delivered: 1, failed: 2, received: 1 },
				byErrorCode: { "4432": 2 },
			},
			quarantined: 1,
			dead: 1,
		});

		const later: Stats = await adminGet(`/v1/stats?since=${new Date(Date.now() + 60_000).toISOString()}`);
		expect(later.events).toEqual({ total: 0, byType: {}, byStatus: {}, byErrorCode: {} });
		expect(later.quarantined).toBe(0);
		// Dead is a current state, not bounded by the window.
		expect(later.dead).toBe(1);
	});

	it("looks back 24 hours by default", async () => {
		const before = Date.now();
		const stats: Stats = await adminGet("/v1/stats");
		const window = before - Date.parse(stats.since);
		expect(window).toBeGreaterThanOrEqual(24 * 3600 * 1000 - 1000);
		expect(window).toBeLessThanOrEqual(24 * 3600 * 1000 + 1000);
		expect(stats.events.total).toBeGreaterThanOrEqual(5);
	});

	it.each([
		["since=today", "since"],
		["until=2031-01-01T00:00:00Z", "until"],
	])("rejects %s naming the parameter", async (query, name) => {
		const message = await expectError(await adminFetch(`/v1/stats?${query}`), 400, "invalid_parameter");
		expect(message.startsWith(`${name}: `)).toBe(true);
	});
});
