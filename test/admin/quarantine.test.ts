import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { quarantineIdOf } from "../../src/bandwidth/event-id";
import type { NormalizedEvent } from "../../src/bandwidth/normalize";
import { insertQuarantine, type QuarantineItem } from "../../src/db/quarantine.repository";
import type { Page } from "../../src/routes/admin/cursor";
import { adminFetch, adminGet, adminPost, eventIdOfElement } from "../helpers/admin";
import { postCallback } from "../helpers/callback";
import { element, newMessageId } from "../helpers/fixtures";
import { expectError } from "../helpers/http";
import { insertLargeQuarantine } from "../helpers/large-rows";
import { withLedgerBroken } from "../helpers/ledger";
import { eventsOf, waitForEvents } from "../helpers/storage";

type QuarantinePage = Page<QuarantineItem>;

/** A quarantine row as a validator that was too strict at the time would have left it. */
async function quarantined(raw: unknown, receivedAt = new Date().toISOString()): Promise<string> {
	const rawJson = JSON.stringify(raw);
	const id = await quarantineIdOf(rawJson);
	await env.DB.batch(
		insertQuarantine(env.DB, [
			{ id, received_at: receivedAt, reason: "message.to: rejected by an old rule", raw_json: rawJson },
		]),
	);
	return id;
}

async function item(id: string): Promise<QuarantineItem | undefined> {
	let cursor: string | null = null;
	do {
		const page: QuarantinePage = await adminGet(`/v1/quarantine?limit=500${cursor ? `&cursor=${cursor}` : ""}`);
		const found = page.items.find((candidate) => candidate.id === id);
		if (found) return found;
		cursor = page.nextCursor;
	} while (cursor !== null);
	return undefined;
}

describe("GET /v1/quarantine", () => {
	it("lists an invalid element posted in a callback with its reason and the raw element", async () => {
		const invalid = element("spec2026__message-delivered_sms.object.json");
		invalid.message.to = "+15550002001" as unknown as string[];
		const response = await postCallback([invalid]);
		expect(await response.json()).toMatchObject({ quarantined: 1 });
		const id = await quarantineIdOf(JSON.stringify(invalid));

		expect(await item(id)).toEqual({
			id,
			receivedAt: expect.any(String),
			reason: expect.stringContaining("message.to"),
			raw: invalid,
			reprocessedAt: null,
			reprocessOutcome: null,
		});
	});

	it("pages by (receivedAt, id) without skipping or repeating a row while new rows arrive", async () => {
		const base = Date.parse("2020-01-01T00:00:00.000Z");
		const time = (minutes: number) => new Date(base + minutes * 60_000).toISOString();
		const preexisting = await Promise.all([0, 10, 20, 30, 40].map((m) => quarantined({ bad: m }, time(m))));
		const seen: string[] = [];
		let cursor: string | null = null;
		let round = 0;
		do {
			const page: QuarantinePage = await adminGet(`/v1/quarantine?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
			seen.push(...page.items.map((row) => row.id));
			cursor = page.nextCursor;
			round += 1;
			// Rows before and after the position already read.
			await quarantined({ early: round }, time(-round));
			await quarantined({ late: round }, time(100 + round));
		} while (cursor !== null);
		for (const id of preexisting) expect(seen.filter((candidate) => candidate === id)).toHaveLength(1);
		expect(new Set(seen).size).toBe(seen.length);
	});

	it("ends a page once it holds 8 MB of elements, with a cursor to the rest", async () => {
		// Received before every other row of this file, so they open the list.
		const ids = await insertLargeQuarantine(6, "2000-01-01T00:00:00.000Z");
		const first: QuarantinePage = await adminGet("/v1/quarantine?limit=500");
		expect(first.items.map((row) => row.id)).toEqual(ids.slice(0, 4));
		expect(first.items[0]?.raw).toEqual({ padding: expect.any(String) });
		expect(first.nextCursor).not.toBeNull();
		const second: QuarantinePage = await adminGet(`/v1/quarantine?limit=500&cursor=${first.nextCursor}`);
		expect(second.items.map((row) => row.id).slice(0, 2)).toEqual(ids.slice(4));
	}, 30_000);

	it.each([
		["limit=0", "limit"],
		["cursor=%%%", "cursor"],
		// An events cursor is well-formed but belongs to another list.
		[`cursor=${btoa(JSON.stringify(["2031-01-01T00:00:00.000Z", "evt_x"])).replaceAll("=", "")}`, "cursor"],
		["reason=x", "reason"],
	])("rejects %s naming the parameter", async (query, name) => {
		const message = await expectError(await adminFetch(`/v1/quarantine?${query}`), 400, "invalid_parameter");
		expect(message.startsWith(`${name}: `)).toBe(true);
	});
});

describe("POST /v1/quarantine/:id/reprocess", () => {
	it("stores an element that is valid now, and answers the recorded outcome on a repeat", async () => {
		const valid = element("spec2026__message-delivered_sms.object.json");
		const id = await quarantined(valid, "2020-01-01T00:00:00.000Z");
		const before = new Date().toISOString();

		const response = await adminPost(`/v1/quarantine/${id}/reprocess`);
		expect(response.status).toBe(200);
		const eventId = await eventIdOfElement(valid);
		expect(await response.json()).toEqual({ id, outcome: "stored", eventId });
		const [stored] = await waitForEvents(valid.message.id, 1);
		expect(stored?.id).toBe(await eventIdOfElement(valid));
		const event = JSON.parse(stored?.normalized_json ?? "{}") as NormalizedEvent;
		expect(event.data.bandwidth).toEqual(valid);
		// Accepted now: its first receipt was a rejection.
		expect(event.data.receivedAt >= before).toBe(true);
		expect(await item(id)).toMatchObject({ reprocessedAt: expect.any(String), reprocessOutcome: "stored" });

		// Final: a repeat runs nothing and answers what the first run stored.
		const again = await adminPost(`/v1/quarantine/${id}/reprocess`);
		expect(await again.json()).toEqual({
			id,
			outcome: "stored",
			eventId,
			reprocessedAt: expect.any(String),
			repeated: true,
		});
		expect(await item(id)).toMatchObject({ reprocessOutcome: "stored" });
		expect(await eventsOf(valid.message.id)).toHaveLength(1);
	});

	it("reports an element that is still invalid, with the reason, and keeps it", async () => {
		const invalid = element("spec2026__message-sending.object.json");
		invalid.time = "the day before yesterday";
		await postCallback([invalid]);
		const id = await quarantineIdOf(JSON.stringify(invalid));

		const response = await adminPost(`/v1/quarantine/${id}/reprocess`);
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({ id, outcome: "still_invalid", reason: expect.stringContaining("time") });
		expect(await item(id)).toMatchObject({ reprocessOutcome: "still_invalid", raw: invalid });
		expect(await eventsOf(invalid.message.id)).toEqual([]);
	});

	it("answers 500 storage_unavailable when the ledger cannot accept, and records nothing", async () => {
		const messageId = newMessageId();
		const valid = element("spec2026__message-received_sms.object.json", { messageId });
		const id = await quarantined(valid);
		await withLedgerBroken(messageId, async () => {
			await expectError(await adminPost(`/v1/quarantine/${id}/reprocess`), 500, "storage_unavailable");
		});
		expect(await item(id)).toMatchObject({ reprocessedAt: null, reprocessOutcome: null });
		expect(await (await adminPost(`/v1/quarantine/${id}/reprocess`)).json()).toEqual({
			id,
			outcome: "stored",
			eventId: await eventIdOfElement(valid),
		});
	});

	it("answers 404 for an unknown id and 400 for something that is not an id", async () => {
		await expectError(await adminPost(`/v1/quarantine/qtn_${"a".repeat(26)}/reprocess`), 404, "not_found");
		const message = await expectError(await adminPost("/v1/quarantine/evt_123/reprocess"), 400, "invalid_parameter");
		expect(message.startsWith("id: ")).toBe(true);
	});
});
