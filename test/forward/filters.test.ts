import { expect, it } from "vitest";
import { freshPath, hookUrl, receivedAt } from "../helpers/downstream";
import { consume, jobFor, storedEvent } from "../helpers/forward";
import { deliveriesOf } from "../helpers/storage";

it("skips, and records, an event whose type FORWARD_EVENT_TYPES leaves out", async () => {
	const delivered = await storedEvent("spec2026__message-delivered_sms.object.json");
	const received = await storedEvent("spec2026__message-received_sms.object.json");
	const path = freshPath();
	const { result, ids } = await consume([{ body: jobFor(delivered) }, { body: jobFor(received) }], {
		FORWARD_URL: hookUrl(path),
		FORWARD_EVENT_TYPES: "bandwidth.message.received, bandwidth.message.failed",
	});
	expect(result.explicitAcks.sort()).toEqual([...ids].sort());
	expect((await receivedAt(path)).map((request) => request.headers["webhook-id"])).toEqual([received.id]);
	expect((await deliveriesOf(delivered.id)).at(-1)).toMatchObject({
		outcome: "skipped",
		error: "type bandwidth.message.delivered is not in FORWARD_EVENT_TYPES",
	});
});

it("skips an event whose direction FORWARD_DIRECTIONS leaves out", async () => {
	const outbound = await storedEvent("spec2026__message-delivered_sms.object.json");
	const inbound = await storedEvent("spec2026__message-received_sms.object.json");
	const path = freshPath();
	await consume([{ body: jobFor(outbound) }, { body: jobFor(inbound) }], {
		FORWARD_URL: hookUrl(path),
		FORWARD_DIRECTIONS: "inbound",
	});
	expect((await receivedAt(path)).map((request) => request.headers["webhook-id"])).toEqual([inbound.id]);
	expect((await deliveriesOf(outbound.id)).at(-1)).toMatchObject({
		outcome: "skipped",
		error: "direction outbound is not in FORWARD_DIRECTIONS",
	});
});

it("skips with a reason while FORWARD_URL is unset", async () => {
	const event = await storedEvent();
	const { result, ids } = await consume([{ body: jobFor(event) }], { FORWARD_URL: "" });
	expect(result.explicitAcks).toEqual(ids);
	expect((await deliveriesOf(event.id)).at(-1)).toMatchObject({ outcome: "skipped", error: "FORWARD_URL is not set" });
});

it("holds events for a retry while the forwarding settings are invalid", async () => {
	const event = await storedEvent();
	const { retries } = await consume([{ body: jobFor(event) }], { FORWARD_EVENT_TYPES: "bandwidth.message.bogus" });
	expect(retries).toHaveLength(1);
	expect((await deliveriesOf(event.id)).at(-1)).toMatchObject({
		outcome: "failed",
		error: expect.stringContaining("FORWARD_EVENT_TYPES accepts only"),
	});
});

it("forwards an unknown type without a direction unless a direction was ruled out", async () => {
	const unknown = await storedEvent("spec2026__message-sent.object.json", {
		type: "message-exploded",
		message: { direction: "sideways" },
	});
	const path = freshPath();
	await consume([{ body: jobFor(unknown) }], { FORWARD_URL: hookUrl(path) });
	await consume([{ body: jobFor(unknown) }], { FORWARD_URL: hookUrl(path), FORWARD_DIRECTIONS: "" });
	expect(await receivedAt(path)).toHaveLength(2);
	await consume([{ body: jobFor(unknown) }], { FORWARD_URL: hookUrl(path), FORWARD_DIRECTIONS: "inbound" });
	expect(await receivedAt(path)).toHaveLength(2);
	expect((await deliveriesOf(unknown.id)).at(-1)).toMatchObject({
		outcome: "skipped",
		error: "direction null is not in FORWARD_DIRECTIONS",
	});
});
