import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { insertDelivery } from "../../src/db/deliveries.repository";
import type { Stats } from "../../src/db/stats.repository";
import { readStorage } from "../../src/db/storage.repository";
import { adminFetch, adminGet, storeElements } from "../helpers/admin";
import { postCallback } from "../helpers/callback";
import { eventTables, insertEventRows } from "../helpers/d1-rows";
import { element, newMessageId } from "../helpers/fixtures";
import { expectError } from "../helpers/http";
import { messageOfEvent } from "../helpers/storage";

type StatsAnswer = Stats & {
	storage: { d1: { sizeBytes: number; budgetBytes: number; historyFrom: string | null } };
};

const DAY_MS = 24 * 60 * 60 * 1000;

describe("GET /v1/stats", () => {
	it("counts events by type, statuses, error codes, quarantined elements and dead events since a time", async () => {
		const since = new Date().toISOString();
		// The window is on the events' own time: the samples' times are years old, so each gets a current one.
		const now = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
		const outbound = newMessageId();
		const ids = await storeElements([
			element("spec2026__message-sending.object.json", { messageId: outbound, time: now(1) }),
			element("spec2026__message-delivered_sms.object.json", { messageId: outbound, to: "+15554443333", time: now(2) }),
			element("spec2026__message-failed_4432.object.json", { time: now(3) }),
			element("spec2026__message-failed_4432.object.json", { time: now(4) }),
			element("spec2026__message-received_sms.object.json", { time: now(5) }),
		]);
		const invalid = element("spec2026__message-received_sms.object.json");
		invalid.time = "soon";
		await postCallback([invalid]);
		await insertDelivery(env.DB, {
			event_id: ids[4] ?? "",
			message_id: (await messageOfEvent(ids[4] ?? "")) ?? null,
			destination: "default",
			attempt: 8,
			outcome: "dead",
			http_status: null,
			error: "gave up",
			duration_ms: null,
			at: new Date().toISOString(),
		}).run();

		const stats: StatsAnswer = await adminGet(`/v1/stats?since=${since}`);
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
			storage: {
				d1: { sizeBytes: expect.any(Number), budgetBytes: 8_000_000_000, historyFrom: expect.any(String) },
			},
		});

		const later: StatsAnswer = await adminGet(`/v1/stats?since=${new Date(Date.now() + 60_000).toISOString()}`);
		expect(later.events).toEqual({ total: 0, byType: {}, byStatus: {}, byErrorCode: {} });
		expect(later.quarantined).toBe(0);
		// Dead is a current state, not bounded by the window.
		expect(later.dead).toBe(1);
	});

	it("windows events by their own time, and reports D1's size and where its history starts", async () => {
		const path = `/v1/stats?since=${new Date(Date.now() - 2 * 3600_000).toISOString()}`;
		const received = async () => (await adminGet<StatsAnswer>(path)).events.byType["bandwidth.message.received"] ?? 0;
		const before = await received();
		const recent = new Date(Date.now() - 3600_000).toISOString();
		await insertEventRows([
			// A late receipt of an old event: received in the window, its own time long before it.
			{ eventTime: new Date(Date.now() - 40 * DAY_MS).toISOString(), receivedAt: recent },
			// Received before the window (a sender's clock ahead of ours), its own time in it.
			{ eventTime: recent, receivedAt: new Date(Date.now() - 3 * 3600_000).toISOString() },
		]);
		// Only the event whose own time is in the window counts, whenever it was received.
		expect(await received()).toBe(before + 1);
		const stats: StatsAnswer = await adminGet(path);
		const { sizeBytes, historyFrom } = await readStorage(env.DB);
		expect(stats.storage.d1).toEqual({ sizeBytes, budgetBytes: 8_000_000_000, historyFrom });
		const [oldest] = await eventTables();
		// The start of the oldest table's quarter: events_2026120106 is 2026-12-01T06:00:00.000Z.
		const start = `${oldest?.slice(7, 11)}-${oldest?.slice(11, 13)}-${oldest?.slice(13, 15)}T${oldest?.slice(15, 17)}:00:00.000Z`;
		expect(historyFrom).toBe(start);
	});

	it("looks back 24 hours by default", async () => {
		const before = Date.now();
		const stats: StatsAnswer = await adminGet("/v1/stats");
		const window = before - Date.parse(stats.since);
		expect(window).toBeGreaterThanOrEqual(24 * 3600 * 1000 - 1000);
		expect(window).toBeLessThanOrEqual(24 * 3600 * 1000 + 1000);
		expect(stats.events.total).toBeGreaterThanOrEqual(5);
	});

	it("looks back at most 31 days", async () => {
		const within = new Date(Date.now() - 30 * DAY_MS).toISOString();
		expect((await adminFetch(`/v1/stats?since=${within}`)).status).toBe(200);
		const beyond = new Date(Date.now() - 32 * DAY_MS).toISOString();
		const message = await expectError(await adminFetch(`/v1/stats?since=${beyond}`), 400, "invalid_parameter");
		expect(message).toBe("since: must be within the last 31 days");
	});

	it.each([
		["since=today", "since"],
		["until=2031-01-01T00:00:00Z", "until"],
	])("rejects %s naming the parameter", async (query, name) => {
		const message = await expectError(await adminFetch(`/v1/stats?${query}`), 400, "invalid_parameter");
		expect(message.startsWith(`${name}: `)).toBe(true);
	});
});
