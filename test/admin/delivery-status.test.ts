import { describe, expect, it, vi } from "vitest";
import { meter } from "../../src/meter/meter";
import { adminFetch, adminGet, adminPost, eventIdOfElement } from "../helpers/admin";
import { postCallback } from "../helpers/callback";
import { insertEventRows } from "../helpers/d1-rows";
import { freshPath, hookUrl, scriptResponses, waitForForwarded } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { consume, jobFor, storedEvent } from "../helpers/forward";
import { expectError } from "../helpers/http";
import { BACKGROUND_WAIT_MS } from "../helpers/wait";

interface State {
	destination: string;
	state: string;
	attempts: number;
	last: { outcome: string; attempt: number; httpStatus: number | null } | null;
	nextAttemptAt: string | null;
	hold: { reason: string; since: string; nextProbeAt: string | null } | null;
}
interface Item {
	eventId: string;
	messageId: string;
	type: string;
	recipient: string;
	errorCode: number | null;
	receivedAt: string;
	deliveries: State[];
}

async function statusOf(...eventIds: string[]): Promise<Item[]> {
	return (await adminGet<{ items: Item[] }>(`/v1/deliveries/status?eventIds=${eventIds.join(",")}`)).items;
}

/** The answer, and the D1 rows it read. */
async function statusRead(query: string): Promise<{ items: Item[]; rowsRead: number }> {
	const before = meter.snapshot().d1RowsRead;
	const { items } = await adminGet<{ items: Item[] }>(`/v1/deliveries/status?${query}`);
	return { items, rowsRead: meter.snapshot().d1RowsRead - before };
}

/** Waits until the event's default delivery is in `state`. */
async function waitForState(eventId: string, state: string): Promise<State> {
	return vi.waitUntil(
		async () => {
			const found = (await statusOf(eventId))[0]?.deliveries.find((one) => one.destination === "default");
			return found?.state === state ? found : undefined;
		},
		{ timeout: BACKGROUND_WAIT_MS, interval: 50 },
	);
}

describe("GET /v1/deliveries/status", () => {
	it("says where each delivery stands: delivered first try, retrying with its next try, dead", async () => {
		const [delivered, retrying, dead] = [await storedEvent(), await storedEvent(), await storedEvent()];
		const first = await waitForState(delivered.id, "delivered");
		expect(first).toMatchObject({
			attempts: 1,
			last: { outcome: "delivered", attempt: 1, httpStatus: 204 },
			hold: null,
		});

		const path = freshPath();
		await scriptResponses(path, [{ status: 503 }], retrying.id);
		await scriptResponses(path, [{ status: 410 }], dead.id);
		await consume([{ body: jobFor(retrying), attempts: 2 }], { FORWARD_URL: hookUrl(path) });
		await consume([{ body: jobFor(dead), attempts: 2 }], { FORWARD_URL: hookUrl(path) });

		const items = await statusOf(dead.id, retrying.id, "evt_neverstoredaaaaaaaaaaaaaa");
		// In the order asked; an event D1 does not hold is left out.
		expect(items.map((item) => item.eventId)).toEqual([dead.id, retrying.id]);
		expect(items[0]).toMatchObject({
			messageId: dead.messageId,
			type: "bandwidth.message.delivered",
			recipient: expect.stringMatching(/^\+/),
			deliveries: [{ destination: "default", state: "dead", attempts: 2, last: { outcome: "dead", httpStatus: 410 } }],
		});
		const [waiting] = items[1]?.deliveries ?? [];
		expect(waiting).toMatchObject({ state: "retrying", attempts: 2, last: { outcome: "failed", attempt: 2 } });
		// The schedule's second step: 5 minutes ± 20 %.
		const inMs = Date.parse(waiting?.nextAttemptAt ?? "") - Date.now();
		expect(inMs).toBeGreaterThan(3.5 * 60_000);
		expect(inMs).toBeLessThan(6.5 * 60_000);
	});

	it("says a paused destination holds an event, since when, and then that it was delivered once resumed", async () => {
		expect((await adminPost("/v1/destinations/default/pause")).status).toBe(200);
		const event = element("spec2026__message-delivered_sms.object.json");
		const eventId = await eventIdOfElement(event);
		try {
			expect((await postCallback([event])).status).toBe(200);
			// The real consumer asked the gate and parked it there.
			const held = await waitForState(eventId, "held");
			expect(held).toMatchObject({
				attempts: 0,
				last: null,
				hold: { reason: "paused", since: expect.any(String), nextProbeAt: null },
			});
		} finally {
			expect((await adminPost("/v1/destinations/default/resume")).status).toBe(200);
		}
		// Sent back by the gate the moment it was resumed: delivered on its first attempt.
		await waitForForwarded(eventId);
		expect(await waitForState(eventId, "delivered")).toMatchObject({ attempts: 1, last: { attempt: 1 } });
	});

	it("finds events by key when given their messages; without them, an event no deliveries row names by a scan", async () => {
		const [first, second] = [await storedEvent(), await storedEvent()];
		for (const event of [first, second]) await waitForState(event.id, "delivered");
		const ids = `eventIds=${first.id},${second.id}`;
		const byKey = `${ids}&messageIds=${first.messageId},${second.messageId}`;
		const before = await statusRead(byKey);
		// Today's day table holds these too: a scan reads every one of them, a lookup by key none.
		await insertEventRows(Array.from({ length: 300 }, () => ({ eventTime: new Date().toISOString() })));

		const found = await statusRead(byKey);
		const scanned = await statusRead(ids);
		for (const { items } of [before, found, scanned]) {
			expect(items.map((item) => item.eventId)).toEqual([first.id, second.id]);
			expect(items.map((item) => item.deliveries[0]?.state)).toEqual(["delivered", "delivered"]);
		}
		expect(scanned.rowsRead).toBeGreaterThanOrEqual(300);
		// The same rows as before the 300 (the schema, the deliveries index, the messages' events, the
		// first tries' minutes), give or take a background read.
		expect(Math.abs(found.rowsRead - before.rowsRead)).toBeLessThan(10);
		// Messages the events do not belong to: D1 does not hold them under those, and does not scan.
		expect((await statusRead(`${ids}&messageIds=msg-elsewhere`)).items).toEqual([]);
	});

	it("refuses a list that is empty, too long or not of event ids, naming the parameter", async () => {
		for (const query of [
			"eventIds=",
			"eventIds=abc",
			`eventIds=${Array.from({ length: 101 }, (_, i) => `evt_a${i}`).join(",")}`,
			"eventIds=evt_a&messageIds=",
			`eventIds=evt_a&messageIds=${Array.from({ length: 101 }, (_, i) => `m${i}`).join(",")}`,
			"other=1",
		]) {
			const message = await expectError(await adminFetch(`/v1/deliveries/status?${query}`), 400, "invalid_parameter");
			expect(message, query).toMatch(/^(eventIds|messageIds|other): /);
		}
		expect((await adminFetch("/v1/deliveries/status?eventIds=evt_a", { method: "POST" })).status).toBe(405);
	});
});
