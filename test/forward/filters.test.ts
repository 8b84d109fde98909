import { expect, it } from "vitest";
import { freshPath, hookUrl, receivedAt } from "../helpers/downstream";
import { consume, countedDuring, jobFor, storedEvent } from "../helpers/forward";
import { deliveriesOf } from "../helpers/storage";

/*
 * A first-try skip is filed with its batch's first tries (attempts_YYYYMMDD), not recorded as a
 * deliveries row (src/forward/record-outcomes.ts); only a later attempt's skip gets a row, with its reason.
 */

it("skips, and counts, an event whose type FORWARD_EVENT_TYPES leaves out", async () => {
	const delivered = await storedEvent("spec2026__message-delivered_sms.object.json");
	const received = await storedEvent("spec2026__message-received_sms.object.json");
	const path = freshPath();
	const {
		result: { result, ids },
		counted,
	} = await countedDuring(() =>
		consume([{ body: jobFor(delivered) }, { body: jobFor(received) }], {
			FORWARD_URL: hookUrl(path),
			FORWARD_EVENT_TYPES: "bandwidth.message.received, bandwidth.message.failed",
		}),
	);
	expect(result.explicitAcks.sort()).toEqual([...ids].sort());
	expect((await receivedAt(path)).map((request) => request.headers["webhook-id"])).toEqual([received.id]);
	expect(counted).toEqual({ delivered: 1, skipped: 1 });
	expect(await deliveriesOf(delivered.id)).toEqual([]);
	expect(await deliveriesOf(received.id)).toEqual([]);
});

it("records the reason of a skip on a later attempt", async () => {
	const delivered = await storedEvent("spec2026__message-delivered_sms.object.json");
	const { counted } = await countedDuring(() =>
		consume([{ body: jobFor(delivered), attempts: 2 }], {
			FORWARD_URL: hookUrl(freshPath()),
			FORWARD_EVENT_TYPES: "bandwidth.message.received",
		}),
	);
	expect(counted).toEqual({ delivered: 0, skipped: 0 });
	expect(await deliveriesOf(delivered.id)).toEqual([
		expect.objectContaining({
			outcome: "skipped",
			attempt: 2,
			error: "type bandwidth.message.delivered is not in FORWARD_EVENT_TYPES",
		}),
	]);
});

it("skips an event whose direction FORWARD_DIRECTIONS leaves out", async () => {
	const outbound = await storedEvent("spec2026__message-delivered_sms.object.json");
	const inbound = await storedEvent("spec2026__message-received_sms.object.json");
	const path = freshPath();
	const { counted } = await countedDuring(() =>
		consume([{ body: jobFor(outbound) }, { body: jobFor(inbound) }], {
			FORWARD_URL: hookUrl(path),
			FORWARD_DIRECTIONS: "inbound",
		}),
	);
	expect((await receivedAt(path)).map((request) => request.headers["webhook-id"])).toEqual([inbound.id]);
	expect(counted).toEqual({ delivered: 1, skipped: 1 });
	expect(await deliveriesOf(outbound.id)).toEqual([]);
	// The reason is on the row of a later attempt.
	await consume([{ body: jobFor(outbound), attempts: 3 }], {
		FORWARD_URL: hookUrl(path),
		FORWARD_DIRECTIONS: "inbound",
	});
	expect(await deliveriesOf(outbound.id)).toEqual([
		expect.objectContaining({
			outcome: "skipped",
			attempt: 3,
			error: "direction outbound is not in FORWARD_DIRECTIONS",
		}),
	]);
});

it("skips with a reason while FORWARD_URL is unset", async () => {
	const event = await storedEvent();
	const {
		result: { result, ids },
		counted,
	} = await countedDuring(() => consume([{ body: jobFor(event) }], { FORWARD_URL: "" }));
	expect(result.explicitAcks).toEqual(ids);
	expect(counted).toEqual({ delivered: 0, skipped: 1 });
	expect(await deliveriesOf(event.id)).toEqual([]);
	await consume([{ body: jobFor(event), attempts: 2 }], { FORWARD_URL: "" });
	expect(await deliveriesOf(event.id)).toEqual([
		expect.objectContaining({ outcome: "skipped", attempt: 2, error: "FORWARD_URL is not set" }),
	]);
});

it("holds events for a retry while the forwarding settings are invalid", async () => {
	const event = await storedEvent();
	const {
		result: { retries },
		counted,
	} = await countedDuring(() => consume([{ body: jobFor(event) }], { FORWARD_EVENT_TYPES: "bandwidth.message.bogus" }));
	expect(retries).toHaveLength(1);
	expect(counted).toEqual({ delivered: 0, skipped: 0 });
	expect((await deliveriesOf(event.id)).at(-1)).toMatchObject({
		outcome: "failed",
		attempt: 1,
		error: expect.stringContaining("FORWARD_EVENT_TYPES accepts only"),
	});
});

it("forwards an unknown type without a direction unless a direction was ruled out", async () => {
	const unknown = await storedEvent("spec2026__message-sent.object.json", {
		type: "message-exploded",
		message: { direction: "sideways" },
	});
	const path = freshPath();
	const forwarded = await countedDuring(async () => {
		await consume([{ body: jobFor(unknown) }], { FORWARD_URL: hookUrl(path) });
		await consume([{ body: jobFor(unknown) }], { FORWARD_URL: hookUrl(path), FORWARD_DIRECTIONS: "" });
	});
	expect(await receivedAt(path)).toHaveLength(2);
	expect(forwarded.counted).toEqual({ delivered: 2, skipped: 0 });
	const ruledOut = await countedDuring(() =>
		consume([{ body: jobFor(unknown) }], { FORWARD_URL: hookUrl(path), FORWARD_DIRECTIONS: "inbound" }),
	);
	expect(await receivedAt(path)).toHaveLength(2);
	expect(ruledOut.counted).toEqual({ delivered: 0, skipped: 1 });
	expect(await deliveriesOf(unknown.id)).toEqual([]);
	await consume([{ body: jobFor(unknown), attempts: 2 }], {
		FORWARD_URL: hookUrl(path),
		FORWARD_DIRECTIONS: "inbound",
	});
	expect((await deliveriesOf(unknown.id)).at(-1)).toMatchObject({
		outcome: "skipped",
		error: "direction null is not in FORWARD_DIRECTIONS",
	});
});
