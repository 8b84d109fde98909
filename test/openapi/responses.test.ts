import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runMaintenance } from "../../src/maintenance/run-maintenance";
import { OPERATIONS } from "../../src/openapi/operations";
import { adminFetch, adminPost, RELAY_URL, storeElements } from "../helpers/admin";
import { putArchiveObject } from "../helpers/archive-objects";
import { postCallback } from "../helpers/callback";
import { gateOf } from "../helpers/destinations";
import { freshPath, hookUrl, scriptResponses } from "../helpers/downstream";
import { element, newMessageId } from "../helpers/fixtures";
import { consume, jobFor, storedEvent } from "../helpers/forward";
import { fetchWithVars } from "../helpers/http";
import { inboundMms, mediaUrl, waitForSettledMedia } from "../helpers/media";
import { damageStoredBody } from "../helpers/storage";
import { TEST_ENV } from "../setup/test-env";
import { checked, expectConforms } from "./conformance";

/*
 * Every route's real answers, made from real callbacks, against the schema the served document
 * declares for their status. The last test checks that every documented operation was answered.
 */

const ARCHIVE_KEY = "events/2026/12/01/04/ledger-openapi-000.ndjson.gz";

async function get(path: string, pattern = path): Promise<unknown> {
	return expectConforms(await adminFetch(path), "GET", pattern);
}

describe("every route answers what the OpenAPI document declares", () => {
	it("GET and DELETE /v1/messages/:messageId, with events, statuses and delivery attempts", async () => {
		const messageId = newMessageId();
		const sending = element("spec2026__message-sending.object.json", { messageId });
		const failed = element("apidocs2023__message-failed_4432_forbidden-country.json", { messageId });
		await storeElements([sending, failed]);
		// A failed attempt against a downstream answering 503 leaves a deliveries row.
		const path = freshPath();
		await scriptResponses(path, [{ status: 503, body: "" }]);
		const stored = await storedEvent("spec2026__message-delivered_sms.object.json", { messageId });
		await consume([{ body: jobFor(stored), attempts: 1 }], { FORWARD_URL: hookUrl(path) });

		const page = (await get(`/v1/messages/${messageId}?limit=1`, "/v1/messages/:messageId")) as {
			nextCursor: string | null;
			events: unknown[];
			deliveries: Array<{ id: number | null }>;
			recipients: unknown[];
		};
		expect(page.events).toHaveLength(1);
		// One row a page; the first tries (no row id) come on the first page besides.
		expect(page.deliveries.filter((delivery) => delivery.id !== null)).toHaveLength(1);
		expect(page.recipients.length).toBeGreaterThan(0);
		expect(page.nextCursor).toEqual(expect.any(String));
		await get(`/v1/messages/${messageId}?cursor=${page.nextCursor}`, "/v1/messages/:messageId");

		const erased = await adminFetch(`/v1/messages/${messageId}`, { method: "DELETE" });
		expect(await expectConforms(erased, "DELETE", "/v1/messages/:messageId")).toMatchObject({ complete: true });
	});

	it("GET /v1/events and GET /v1/deliveries", async () => {
		const stored = await storedEvent("spec2026__message-delivered_sms.object.json");
		const path = freshPath();
		await scriptResponses(path, [{ status: 410, body: "gone" }]);
		await consume([{ body: jobFor(stored), attempts: 2 }], { FORWARD_URL: hookUrl(path) });

		const events = (await get(`/v1/events?messageId=${stored.messageId}`, "/v1/events")) as { items: unknown[] };
		expect(events.items).toHaveLength(1);
		await get("/v1/events?type=bandwidth.message.delivered&limit=500", "/v1/events");
		const deliveries = (await get(`/v1/deliveries?eventId=${stored.id}`, "/v1/deliveries")) as {
			items: Array<{ id: number | null }>;
		};
		expect(deliveries.items.filter((delivery) => delivery.id !== null)).toHaveLength(1);
		await get("/v1/deliveries?status=dead", "/v1/deliveries");
		await get("/v1/deliveries?status=dead&current=true", "/v1/deliveries");
		await get(`/v1/events?order=newest&number=${encodeURIComponent("+12345678902")}&limit=5`, "/v1/events");
		const status = (await get(
			`/v1/deliveries/status?eventIds=${stored.id}&messageIds=${stored.messageId}`,
			"/v1/deliveries/status",
		)) as {
			items: Array<{ eventId: string; deliveries: Array<{ state: string }> }>;
		};
		expect(status.items).toEqual([
			expect.objectContaining({ eventId: stored.id, deliveries: [expect.objectContaining({ state: "dead" })] }),
		]);
		const refused = await adminFetch("/v1/deliveries/status?eventIds=nope");
		expect(refused.status).toBe(400);
		await expectConforms(refused, "GET", "/v1/deliveries/status");
	});

	it("GET /v1/quarantine and POST /v1/quarantine/:id/reprocess", async () => {
		const invalid = element("spec2026__message-delivered_sms.object.json");
		invalid.message.to = "+15550002001" as unknown as string[];
		expect(await (await postCallback([invalid])).json()).toMatchObject({ quarantined: 1 });

		const page = (await get("/v1/quarantine?limit=500", "/v1/quarantine")) as { items: Array<{ id: string }> };
		const [item] = page.items;
		if (item === undefined) throw new Error("nothing quarantined");
		const pattern = "/v1/quarantine/:id/reprocess";
		const reprocessed = await expectConforms(await adminPost(`/v1/quarantine/${item.id}/reprocess`), "POST", pattern);
		expect(reprocessed).toMatchObject({ outcome: "still_invalid" });
		const unknown = await adminPost(`/v1/quarantine/qtn_${"a".repeat(26)}/reprocess`);
		expect(unknown.status).toBe(404);
		await expectConforms(unknown, "POST", pattern);
	});

	it("POST /v1/replay and POST /v1/erase", async () => {
		const stored = await storedEvent("spec2026__message-delivered_sms.object.json");
		const replayed = await expectConforms(
			await adminPost("/v1/replay", { eventIds: [stored.id] }),
			"POST",
			"/v1/replay",
		);
		expect(replayed).toEqual({ enqueued: 1, truncated: false });

		const erased = await adminPost("/v1/erase", { phoneNumber: "+15550009999" });
		expect(await expectConforms(erased, "POST", "/v1/erase")).toMatchObject({ complete: expect.any(Boolean) });
	});

	it("answers naming an event whose D1 body cannot be read: messages, events and replay", async () => {
		const stored = await storedEvent("spec2026__message-delivered_sms.object.json");
		await damageStoredBody(stored.id, new Uint8Array([0x00]));
		const message = await get(`/v1/messages/${stored.messageId}`, "/v1/messages/:messageId");
		expect(message).toMatchObject({ events: [], unreadableEventIds: [stored.id] });
		const events = await get(`/v1/events?messageId=${stored.messageId}`, "/v1/events");
		expect(events).toMatchObject({ items: [], unreadableEventIds: [stored.id] });
		const replayed = await expectConforms(
			await adminPost("/v1/replay", { eventIds: [stored.id] }),
			"POST",
			"/v1/replay",
		);
		expect(replayed).toEqual({ enqueued: 0, truncated: false, unreadableEventIds: [stored.id] });
	});

	it("GET /v1/destinations and POST /v1/destinations/:name/pause|resume", async () => {
		await get("/v1/destinations");
		const paused = await adminPost("/v1/destinations/default/pause");
		expect(await expectConforms(paused, "POST", "/v1/destinations/:name/pause")).toMatchObject({ paused: true });
		const resumed = await adminPost("/v1/destinations/default/resume");
		expect(await expectConforms(resumed, "POST", "/v1/destinations/:name/resume")).toMatchObject({ paused: false });
		const unknown = await adminPost("/v1/destinations/nope/pause");
		expect(unknown.status).toBe(404);
		await expectConforms(unknown, "POST", "/v1/destinations/:name/pause");

		const closed = await adminPost("/v1/destinations/default/probe");
		expect(closed.status).toBe(409);
		await expectConforms(closed, "POST", "/v1/destinations/:name/probe");
		// An open breaker, as ten failures in a row leave it: probed now, then closed again by a success.
		const gate = gateOf("default");
		await gate.report({ lease: null, delivered: 0, failed: 10, lastError: "HTTP 503: openapi test" });
		const probed = await adminPost("/v1/destinations/default/probe");
		expect(await expectConforms(probed, "POST", "/v1/destinations/:name/probe")).toMatchObject({ breaker: "open" });
		await gate.report({ lease: null, delivered: 1, failed: 0, lastError: null });
	});

	it("GET /v1/stats", async () => {
		await storedEvent("spec2026__message-delivered_sms.object.json");
		const stats = await get("/v1/stats");
		expect(stats).toMatchObject({ events: { total: expect.any(Number) } });
	});

	it("GET /v1/insights, with counts, error codes and latency", async () => {
		const time = new Date(Date.now() - 60_000).toISOString();
		const sending = element("spec2026__message-sending.object.json", { time, message: { time } });
		const failed = element("apidocs2023__message-failed_4432_forbidden-country.json", { time, message: { time } });
		const delivered = element("spec2026__message-delivered_sms.object.json", { time, message: { time } });
		expect((await postCallback([sending, failed, delivered])).status).toBe(200);
		await runMaintenance(env, Date.now());
		const insights = (await get("/v1/insights", "/v1/insights")) as { totals: { errorCodes: unknown[] } };
		expect(insights.totals.errorCodes).toContainEqual(expect.objectContaining({ code: 4432 }));
		await get("/v1/insights?granularity=day&owner=%2B10000000000", "/v1/insights");
	});

	it("GET /v1/archive and GET /v1/archive/<key>", async () => {
		await putArchiveObject(ARCHIVE_KEY, [{ specversion: "1.0", id: "evt_1", type: "bandwidth.message.sent" }]);
		const page = (await get("/v1/archive?date=2026-12-01", "/v1/archive")) as { items: unknown[] };
		expect(page.items).toContainEqual(expect.objectContaining({ key: ARCHIVE_KEY }));
		await get(`/v1/archive/${ARCHIVE_KEY}`, "/v1/archive/:key{.+}");
		await get("/v1/archive/events/2026/12/01/04/missing.ndjson.gz", "/v1/archive/:key{.+}");
	});

	it("GET /v1/media/:messageId", async () => {
		const mms = inboundMms((id) => [mediaUrl(id, 0, "a.png"), `https://elsewhere.example/${id}.png`]);
		await postCallback([mms]);
		const items = await waitForSettledMedia(mms.message.id);
		expect(items.map((item) => item.status)).toEqual(["copied", "failed"]);
		await get(`/v1/media/${mms.message.id}`, "/v1/media/:messageId");
		await get(`/v1/media/${newMessageId()}`, "/v1/media/:messageId");
	});

	it("GET /v1/meter and POST /v1/meter/reset, where the meter is enabled", async () => {
		const authorization = `Bearer ${TEST_ENV.ADMIN_TOKEN}`;
		const vars = { METER_ENDPOINT: "true" };
		const reading = await fetchWithVars(vars, new Request(`${RELAY_URL}/v1/meter`, { headers: { authorization } }));
		await expectConforms(reading, "GET", "/v1/meter");
		const reset = await fetchWithVars(
			vars,
			new Request(`${RELAY_URL}/v1/meter/reset`, { method: "POST", headers: { authorization } }),
		);
		await expectConforms(reset, "POST", "/v1/meter/reset");
		await expectConforms(await adminFetch("/v1/meter"), "GET", "/v1/meter");
	});

	it("GET /health and GET /v1/openapi.json", async () => {
		await expectConforms(await exports.default.fetch(`${RELAY_URL}/health`), "GET", "/health");
		await get("/v1/openapi.json");
	});

	it("errors: the body is the documented error, with a status the operation declares", async () => {
		await expectConforms(await adminFetch("/v1/events?limit=0"), "GET", "/v1/events");
		await expectConforms(await adminFetch("/v1/events", { token: null }), "GET", "/v1/events");
		await expectConforms(await adminFetch("/v1/stats", { token: "wrong" }), "GET", "/v1/stats");
		await expectConforms(await adminFetch(`/v1/messages/${newMessageId()}`), "GET", "/v1/messages/:messageId");
		await expectConforms(await adminFetch("/v1/archive"), "GET", "/v1/archive");
		await expectConforms(await adminPost("/v1/replay", {}), "POST", "/v1/replay");
		const notJson = await adminFetch("/v1/replay", {
			method: "POST",
			headers: { "content-type": "text/plain" },
			body: "dead",
		});
		await expectConforms(notJson, "POST", "/v1/replay");
		await expectConforms(await adminPost("/v1/erase", { phoneNumber: "555" }), "POST", "/v1/erase");
		await expectConforms(await adminFetch("/v1/openapi.json", { token: null }), "GET", "/v1/openapi.json");
		const guesser = { headers: { "cf-connecting-ip": "198.51.100.77" } };
		for (let i = 0; i < 10; i += 1) await adminFetch("/v1/events", { ...guesser, token: `guess-${i}` });
		const limited = await adminFetch("/v1/events", { ...guesser, token: "guess-10" });
		expect(limited.status).toBe(429);
		await expectConforms(limited, "GET", "/v1/events");
	});

	it("answered every documented operation successfully at least once", () => {
		const succeeded = [...checked].filter((entry) => / 2\d\d$/.test(entry)).map((entry) => entry.replace(/ \d+$/, ""));
		const documented = OPERATIONS.map((operation) => `${operation.method.toUpperCase()} ${operation.path}`);
		expect(documented.filter((operation) => !succeeded.includes(operation))).toEqual([]);
	});
});
