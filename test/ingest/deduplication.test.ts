import { describe, expect, it } from "vitest";
import { postCallback } from "../helpers/callback";
import { receivedAt, waitForAllForwarded } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { firstTryOutcomesOf, waitForFirstTries } from "../helpers/forward";
import { deliveriesOf, eventsOf, waitForEvents } from "../helpers/storage";

type Counts = { received: number; stored: number; duplicates: number; quarantined: number };

async function post(body: unknown): Promise<Counts> {
	const response = await postCallback(body);
	expect(response.status).toBe(200);
	return response.json();
}

/** A group MMS status batch: the same message, one event per recipient. */
function groupBatch() {
	const sending = element("spec2026__message-sending.object.json");
	const id = sending.message.id;
	return [
		sending,
		element("spec2026__message-delivered_group-mms.object.json", { messageId: id, to: "+12345678902" }),
		element("spec2026__message-delivered_group-mms.object.json", { messageId: id, to: "+12345678903" }),
	];
}

describe("duplicates", () => {
	it("keeps distinct events of an unknown type that carry no envelope time or recipient", async () => {
		const { message } = element("spec2026__message-delivered_sms.object.json");
		const first = { type: "message-exploded", message: { ...message, text: "first" } };
		const second = { type: "message-exploded", message: { ...message, text: "second" } };
		expect(await post([first, second])).toEqual({ received: 2, stored: 2, duplicates: 0, quarantined: 0 });
		// A true repeat is still one event.
		expect(await post([second])).toEqual({ received: 1, stored: 0, duplicates: 1, quarantined: 0 });
		const rows = await waitForEvents(message.id, 2);
		expect(rows.map((row) => JSON.parse(row.normalized_json).data.bandwidth.message.text)).toEqual(["first", "second"]);
	});

	it("accepts a batch posted twice once", async () => {
		const batch = groupBatch();
		expect(await post(batch)).toEqual({ received: 3, stored: 3, duplicates: 0, quarantined: 0 });
		expect(await post(batch)).toEqual({ received: 3, stored: 0, duplicates: 3, quarantined: 0 });
		const rows = await waitForEvents(batch[0]!.message.id, 3);
		expect(rows.map((row) => row.sequence)).toEqual([1, 2, 3]);
	});

	it("accepts concurrent copies of a batch once, and forwards each event once", async () => {
		const batch = groupBatch();
		const results = await Promise.all(Array.from({ length: 8 }, () => post(batch)));
		expect(results.reduce((sum, counts) => sum + counts.stored, 0)).toBe(3);
		expect(results.reduce((sum, counts) => sum + counts.duplicates, 0)).toBe(21);

		const rows = await waitForEvents(batch[0]!.message.id, 3);
		expect(rows).toHaveLength(3);
		expect(new Set(rows.map((row) => row.id)).size).toBe(3);
		await waitForAllForwarded(rows.map((row) => row.id));
		await waitForFirstTries(rows.map((row) => row.id));
		// Give a second, wrong forward time to show up before asserting there is none.
		await new Promise((resolve) => setTimeout(resolve, 300));
		const hook = await receivedAt();
		const outcomes = await firstTryOutcomesOf(rows.map((row) => row.id));
		for (const row of rows) {
			expect(hook.filter((request) => request.headers["webhook-id"] === row.id)).toHaveLength(1);
			// A first-try success: counted, no deliveries row.
			expect(await deliveriesOf(row.id)).toEqual([]);
		}
		expect([...outcomes.values()]).toEqual([["delivered"], ["delivered"], ["delivered"]]);
		expect(await eventsOf(batch[0]!.message.id)).toHaveLength(3);
	});

	it("drops a duplicate inside one batch", async () => {
		const event = element("spec2026__message-delivered_sms.object.json");
		expect(await post([event, event])).toEqual({ received: 2, stored: 1, duplicates: 1, quarantined: 0 });
	});

	it("treats the same event with another time as a new event", async () => {
		const first = element("spec2026__message-delivered_sms.object.json");
		const later = { ...first, time: "2024-09-14T18:25:11.160744Z" };
		expect(await post([first, later])).toMatchObject({ stored: 2, duplicates: 0 });
	});
});
