import { describe, expect, it, type MockInstance, vi } from "vitest";
import { adminGet, adminPost, storeElements } from "../helpers/admin";
import { waitForAllForwarded, waitForForwarded } from "../helpers/downstream";
import { element, newMessageId } from "../helpers/fixtures";
import { damageStoredBody, deliveriesOf, markDead } from "../helpers/storage";

/*
 * A D1 row whose body cannot be decoded (a damaged blob) is left out of what the admin API answers
 * and named, instead of failing the whole answer: one bad row must not hide its neighbours.
 */

function logLines(spy: MockInstance): Array<Record<string, unknown>> {
	return spy.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
}

/** A message of three stored events, the middle one's body in D1 damaged. */
async function messageWithDamagedEvent(): Promise<{ messageId: string; ids: string[]; damaged: string }> {
	const messageId = newMessageId();
	const ids = await storeElements([
		element("spec2026__message-sending.object.json", { messageId }),
		element("spec2026__message-sent.object.json", { messageId }),
		element("spec2026__message-delivered_sms.object.json", { messageId }),
	]);
	await waitForAllForwarded(ids);
	const damaged = ids[1]!;
	// Not gzip: what a torn write or a bad manual fix would leave.
	await damageStoredBody(damaged, new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00]));
	return { messageId, ids, damaged };
}

describe("an event whose D1 body cannot be decoded", () => {
	it("is left out of GET /v1/messages/:messageId, named in unreadableEventIds, and logged", async () => {
		const { messageId, ids, damaged } = await messageWithDamagedEvent();
		const error = vi.spyOn(console, "error");
		const view = await adminGet<{ events: Array<{ id: string }>; unreadableEventIds?: string[] }>(
			`/v1/messages/${messageId}`,
		);
		expect(view.events.map((event) => event.id)).toEqual([ids[0], ids[2]]);
		expect(view.unreadableEventIds).toEqual([damaged]);
		expect(logLines(error)).toContainEqual(
			expect.objectContaining({ event: "d1_event_unreadable", eventId: damaged, error: expect.any(String) }),
		);
	});

	it("is left out of GET /v1/events, named, and the pages around it go on", async () => {
		const { messageId, ids, damaged } = await messageWithDamagedEvent();
		const page = await adminGet<{ items: Array<{ id: string }>; unreadableEventIds?: string[] }>(
			`/v1/events?messageId=${messageId}`,
		);
		expect(page.items.map((event) => event.id).sort()).toEqual([ids[0], ids[2]].sort());
		expect(page.unreadableEventIds).toEqual([damaged]);
		// One row a page: the damaged row's page is empty but named, and its cursor leads on.
		const seen: string[] = [];
		const unreadable: string[] = [];
		let cursor: string | null = null;
		do {
			const query: string = `/v1/events?messageId=${messageId}&limit=1${cursor === null ? "" : `&cursor=${cursor}`}`;
			const onePage = await adminGet<{
				items: Array<{ id: string }>;
				nextCursor: string | null;
				unreadableEventIds?: string[];
			}>(query);
			seen.push(...onePage.items.map((event) => event.id));
			unreadable.push(...(onePage.unreadableEventIds ?? []));
			cursor = onePage.nextCursor;
		} while (cursor !== null);
		expect(seen.sort()).toEqual([ids[0], ids[2]].sort());
		expect(unreadable).toEqual([damaged]);
	});

	it("is left out of a replay, which sends the others and names it; its claim is taken back", async () => {
		const { messageId, ids, damaged } = await messageWithDamagedEvent();
		const response = await adminPost("/v1/replay", { messageId });
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({ enqueued: 2, truncated: false, unreadableEventIds: [damaged] });
		await Promise.all([waitForForwarded(ids[0]!, undefined, 2), waitForForwarded(ids[2]!, undefined, 2)]);
		expect((await deliveriesOf(damaged)).filter((row) => row.outcome === "replayed")).toEqual([]);
	});

	it("stays dead after a dead replay that could not read it, so it is still listed and can be replayed once fixed", async () => {
		const { damaged } = await messageWithDamagedEvent();
		await markDead(damaged);
		const response = await adminPost("/v1/replay", { dead: true });
		expect(await response.json()).toEqual({ enqueued: 0, truncated: false, unreadableEventIds: [damaged] });
		expect((await deliveriesOf(damaged)).map((row) => row.outcome)).toEqual(["dead"]);
		const dead = await adminGet<{ items: Array<{ eventId: string }> }>("/v1/deliveries?status=dead");
		expect(dead.items.map((item) => item.eventId)).toContain(damaged);
	});
});
