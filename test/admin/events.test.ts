import { describe, expect, it } from "vitest";
import type { NormalizedEvent } from "../../src/bandwidth/normalize";
import type { Page } from "../../src/routes/admin/cursor";
import { adminFetch, adminGet, storeElements } from "../helpers/admin";
import { element, newMessageId } from "../helpers/fixtures";
import { expectError } from "../helpers/http";
import { insertLargeEvents } from "../helpers/large-rows";

type EventPage = Page<NormalizedEvent>;

/** A sender number of its own, so a test can filter out every row other tests created. */
function freshNumber(): string {
	return `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
}

function at(base: string, seconds: number): string {
	return new Date(Date.parse(base) + seconds * 1000).toISOString();
}

async function allPages(query: string): Promise<{ ids: string[]; pages: number }> {
	const ids: string[] = [];
	let cursor: string | null = null;
	let pages = 0;
	do {
		const page: EventPage = await adminGet(`/v1/events?${query}${cursor ? `&cursor=${cursor}` : ""}`);
		ids.push(...page.items.map((event) => event.id));
		cursor = page.nextCursor;
		pages += 1;
	} while (cursor !== null);
	return { ids, pages };
}

describe("GET /v1/events", () => {
	it("lists newest first with order=newest, pages that way too, and finds by event id or by a number in any role", async () => {
		const number = freshNumber();
		const other = freshNumber();
		// A little before their receipt, as Bandwidth's times are: `since` reads the day tables from the
		// day before it on, and events are filed by receipt.
		const base = new Date(Date.now() - 3600_000).toISOString();
		const elements = [0, 10, 20].map((offset) =>
			element("spec2026__message-delivered_sms.object.json", {
				messageId: newMessageId(),
				to: other,
				time: at(base, offset),
				message: { from: number, to: [other] },
			}),
		);
		// The number as the recipient of one more: a number search matches sender, recipient or owner.
		elements.push(
			element("spec2026__message-received_sms.object.json", {
				messageId: newMessageId(),
				to: number,
				time: at(base, 30),
				message: { from: other, to: [number] },
			}),
		);
		const ids = await storeElements(elements);
		const since = `&since=${base}`;
		const newest = await allPages(`number=${encodeURIComponent(number)}&order=newest&limit=1${since}`);
		expect(newest.ids).toEqual([...ids].reverse());
		expect(newest.pages).toBe(4);
		const oldest = await allPages(`number=${encodeURIComponent(number)}&limit=3${since}`);
		expect(oldest.ids).toEqual(ids);
		const one: EventPage = await adminGet(`/v1/events?eventId=${ids[2]}`);
		expect(one.items.map((event) => event.id)).toEqual([ids[2]]);
		await expectError(await adminFetch("/v1/events?eventId=nope"), 400, "invalid_parameter");
		await expectError(await adminFetch("/v1/events?order=sideways"), 400, "invalid_parameter");
	});

	it("answers stored CloudEvents, filtered by message, type, direction, sender, recipient and time", async () => {
		const from = freshNumber();
		const outbound = newMessageId();
		const inbound = newMessageId();
		// Times as Bandwidth sends them, a little before their receipt: `since` reads the day tables
		// from the day before it on (events are filed by receipt, never before their own time).
		const base = new Date(Date.now() - 3600_000).toISOString();
		const elements = [
			element("spec2026__message-sending.object.json", {
				messageId: outbound,
				to: "+15550000001",
				time: at(base, 0),
				message: { from },
			}),
			element("spec2026__message-delivered_sms.object.json", {
				messageId: outbound,
				to: "+15550000001",
				time: at(base, 10),
				message: { from },
			}),
			element("spec2026__message-received_sms.object.json", {
				messageId: inbound,
				to: "+15550000002",
				time: at(base, 20),
				message: { from },
			}),
		];
		const [sending, delivered, received] = await storeElements(elements);

		const byMessage: EventPage = await adminGet(`/v1/events?messageId=${outbound}`);
		expect(byMessage.items.map((event) => event.id)).toEqual([sending, delivered]);
		expect(byMessage.nextCursor).toBeNull();
		expect(byMessage.items[1]).toMatchObject({
			specversion: "1.0",
			id: delivered,
			type: "bandwidth.message.delivered",
			subject: outbound,
			data: { messageId: outbound, sequence: 2, status: "delivered", direction: "outbound", from },
		});
		expect(byMessage.items[1]?.data.bandwidth).toEqual(elements[1]);

		const ids = async (query: string) =>
			((await adminGet(`/v1/events?from=${encodeURIComponent(from)}&${query}`)) as EventPage).items.map(
				(event) => event.id,
			);
		expect(await ids("")).toEqual([sending, delivered, received]);
		expect(await ids("type=bandwidth.message.delivered")).toEqual([delivered]);
		expect(await ids("direction=inbound")).toEqual([received]);
		expect(await ids(`to=${encodeURIComponent("+15550000001")}`)).toEqual([sending, delivered]);
		expect(await ids(`since=${at(base, 10)}`)).toEqual([delivered, received]);
		expect(await ids(`until=${at(base, 10)}`)).toEqual([sending]);
		// Any RFC 3339 offset means the same instant.
		const inNewYork = new Date(Date.parse(at(base, 10)) - 5 * 3600_000).toISOString().replace("Z", "-05:00");
		expect(await ids(`since=${encodeURIComponent(inNewYork)}&until=${at(base, 20.001)}`)).toEqual([
			delivered,
			received,
		]);
		expect(await ids("type=bandwidth.message.failed")).toEqual([]);
	});

	it("pages with a cursor without skipping or repeating a row while new rows arrive", async () => {
		const from = freshNumber();
		const base = "2031-04-01T00:00:00.000Z";
		const stored = (seconds: readonly number[]) =>
			storeElements(
				seconds.map((second) =>
					element("spec2026__message-received_sms.object.json", { time: at(base, second), message: { from } }),
				),
			);
		const preexisting = await stored([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);

		const seen: string[] = [];
		const inserted: string[] = [];
		let cursor: string | null = null;
		let lastTime = "";
		let pages = 0;
		do {
			const page: EventPage = await adminGet(
				`/v1/events?from=${encodeURIComponent(from)}&limit=3${cursor ? `&cursor=${cursor}` : ""}`,
			);
			for (const event of page.items) {
				expect(event.time >= lastTime).toBe(true);
				lastTime = event.time;
			}
			seen.push(...page.items.map((event) => event.id));
			cursor = page.nextCursor;
			pages += 1;
			// Between pages: one row sorting before the position already read, one after it, one tied with it.
			const position = (Date.parse(lastTime) - Date.parse(base)) / 1000;
			inserted.push(...(await stored([position - 5, position + 5, position])));
		} while (cursor !== null);

		expect(pages).toBeGreaterThanOrEqual(4);
		for (const id of preexisting) expect(seen.filter((candidate) => candidate === id)).toHaveLength(1);
		expect(new Set(seen).size).toBe(seen.length);
		expect(seen.every((id) => preexisting.includes(id) || inserted.includes(id))).toBe(true);
	});

	it("ends with a null cursor exactly when the last row has been answered", async () => {
		const from = freshNumber();
		const base = "2031-05-01T00:00:00.000Z";
		const ids = await storeElements(
			[0, 1, 2, 3].map((second) =>
				element("spec2026__message-received_sms.object.json", { time: at(base, second), message: { from } }),
			),
		);
		const exact = await allPages(`from=${encodeURIComponent(from)}&limit=2`);
		expect(exact).toEqual({ ids, pages: 2 });
		const single = await allPages(`from=${encodeURIComponent(from)}&limit=4`);
		expect(single).toEqual({ ids, pages: 1 });
	});

	it("defaults to 50 items per page", async () => {
		const from = freshNumber();
		const base = "2031-06-01T00:00:00.000Z";
		await storeElements(
			Array.from({ length: 51 }, (_, second) =>
				element("spec2026__message-received_sms.object.json", { time: at(base, second), message: { from } }),
			),
		);
		const page: EventPage = await adminGet(`/v1/events?from=${encodeURIComponent(from)}`);
		expect(page.items).toHaveLength(50);
		expect(page.nextCursor).not.toBeNull();
	});

	it("ends a page once it holds 8 MB of events, however many rows the limit allows, with a cursor to the rest", async () => {
		const from = freshNumber();
		const ids = await insertLargeEvents(6, { messageId: newMessageId(), from, baseTime: "2031-07-01T00:00:00.000Z" });
		const query = `from=${encodeURIComponent(from)}&limit=500`;

		const first: EventPage = await adminGet(`/v1/events?${query}`);
		expect(first.items.map((event) => event.id)).toEqual(ids.slice(0, 4));
		expect(first.nextCursor).not.toBeNull();
		const second: EventPage = await adminGet(`/v1/events?${query}&cursor=${first.nextCursor}`);
		expect(second.items.map((event) => event.id)).toEqual(ids.slice(4));
		expect(second.nextCursor).toBeNull();
		expect(second.items[1]?.data).toMatchObject({ from, sequence: 6 });
	}, 30_000);

	it.each([
		["limit=0", "limit"],
		["limit=501", "limit"],
		["limit=ten", "limit"],
		["limit=", "limit"],
		["type=message-delivered", "type"],
		["direction=sideways", "direction"],
		["since=yesterday", "since"],
		["until=2031-02-30T00:00:00Z", "until"],
		["messageId=", "messageId"],
		["cursor=not-a-cursor", "cursor"],
		// A well-formed cursor from another list.
		[`cursor=${btoa("[12]").replaceAll("=", "")}`, "cursor"],
		["recipient=%2B15550000001", "recipient"],
	])("rejects %s naming the parameter", async (query, name) => {
		const message = await expectError(await adminFetch(`/v1/events?${query}`), 400, "invalid_parameter");
		expect(message.startsWith(`${name}: `)).toBe(true);
	});
});
