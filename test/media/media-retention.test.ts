import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { MediaState } from "../../src/media/media-state";
import { adminFetch, adminPost } from "../helpers/admin";
import { postCallback } from "../helpers/callback";
import { receivedAt } from "../helpers/downstream";
import { newMessageId } from "../helpers/fixtures";
import { inboundMms, mediaOf, mediaPathOf, mediaUrl, waitForSettledMedia } from "../helpers/media";
import { waitForEvents } from "../helpers/storage";

const DAY_MS = 24 * 3600_000;

async function copiedMms(to?: string) {
	const mms = inboundMms((id) => [mediaUrl(id, 0, "a.png"), mediaUrl(id, 1, "b.png")]);
	if (to !== undefined) mms.message = { ...mms.message, from: to };
	await postCallback([mms]);
	await waitForEvents(mms.message.id, 1);
	await waitForSettledMedia(mms.message.id);
	expect(await env.MEDIA.head(`${mms.message.id}/1`)).not.toBeNull();
	return mms;
}

describe("media retention", () => {
	it("purges the copies and their state once the event is older than the retention", async () => {
		const messageId = newMessageId();
		const keys = [`${messageId}/0`, `${messageId}/1`];
		await Promise.all(keys.map((key) => env.MEDIA.put(key, "old")));
		const stub = env.MEDIA_COPIER.getByName(messageId);
		// A copy made 31 days ago (RETENTION_DAYS is 30 in the tests), its purge alarm due.
		await runInDurableObject(stub, async (_instance, state) => {
			const eventTime = Date.now() - 31 * DAY_MS;
			const item = {
				contentType: "image/png",
				bytes: 3,
				sha256: "x",
				reason: null,
				attempts: 1,
				lastTriedAt: eventTime,
			};
			const old: MediaState = {
				messageId,
				eventTime,
				startedAt: eventTime,
				origin: null,
				items: keys.map((key, index) => ({ ...item, index, originalUrl: `https://x/${index}`, status: "copied", key })),
			};
			await state.storage.put("state", old);
			await state.storage.setAlarm(Date.now());
		});
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		for (const key of keys) expect(await env.MEDIA.head(key)).toBeNull();
		expect(await stub.view()).toBeNull();
		expect((await mediaOf(messageId)).status).toBe(404);
	});

	it("keeps a recent copy and schedules its purge for the event's time plus the retention", async () => {
		const mms = await copiedMms();
		const stub = env.MEDIA_COPIER.getByName(mms.message.id);
		const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
		expect(alarm).toBeCloseTo(Date.parse(mms.time) + 30 * DAY_MS, -4);
	});
});

describe("erasure", () => {
	it("of a message removes its media copies, and a late forward cannot copy them again", async () => {
		const mms = await copiedMms();
		const response = await adminFetch(`/v1/messages/${mms.message.id}`, { method: "DELETE" });
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({ mediaObjects: 2, complete: true });
		for (const index of [0, 1]) expect(await env.MEDIA.head(`${mms.message.id}/${index}`)).toBeNull();
		expect((await mediaOf(mms.message.id)).status).toBe(404);
		const again = await env.MEDIA_COPIER.getByName(mms.message.id).start({
			messageId: mms.message.id,
			eventTime: mms.time,
			media: mms.message.media as string[],
			origin: null,
		});
		expect(again).toBeNull();
	});

	it("of an inbound MMS whose copies had not started leaves a tombstone: its forward, still queued, copies nothing", async () => {
		const mms = inboundMms((id) => [mediaUrl(id, 0, "never.png")]);
		// Erased before its copier ever heard of it (the callback's copy start still on its way, or failed).
		const response = await adminFetch(`/v1/messages/${mms.message.id}`, { method: "DELETE" });
		expect(response.status).toBe(200);
		const late = await env.MEDIA_COPIER.getByName(mms.message.id).start({
			messageId: mms.message.id,
			eventTime: mms.time,
			media: mms.message.media as string[],
			origin: null,
		});
		expect(late).toBeNull();
		expect(await env.MEDIA.head(`${mms.message.id}/0`)).toBeNull();
		expect((await receivedAt(mediaPathOf(mms.message.id, 0, "never.png"))).length).toBe(0);
	});

	it("during a copy in flight keeps nothing of it: the file being downloaded is not left in R2", async () => {
		const mms = inboundMms((id) => [`${mediaUrl(id, 0, "slow.png")}?delayMs=1500`, mediaUrl(id, 1, "next.png")]);
		await postCallback([mms]);
		await waitForEvents(mms.message.id, 1);
		const stub = env.MEDIA_COPIER.getByName(mms.message.id);
		// The slow file's request is out: the erasure comes while its copy is in flight.
		await vi.waitUntil(async () => (await receivedAt(mediaPathOf(mms.message.id, 0, "slow.png"))).length > 0, {
			timeout: 10_000,
			interval: 20,
		});
		expect((await adminFetch(`/v1/messages/${mms.message.id}`, { method: "DELETE" })).status).toBe(200);
		// The slow file's answer comes after the erasure (1.5 s after its request); give the copier
		// time to finish with it, with room for a loaded machine.
		await new Promise((resolve) => setTimeout(resolve, 4000));
		for (const index of [0, 1]) expect(await env.MEDIA.head(`${mms.message.id}/${index}`)).toBeNull();
		expect(await stub.view()).toBeNull();
	});

	it("of a phone number removes the media copies of its messages", async () => {
		const number = `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
		const mms = await copiedMms(number);
		const response = await adminPost("/v1/erase", { phoneNumber: number });
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({ mediaObjects: 2, complete: true });
		for (const index of [0, 1]) expect(await env.MEDIA.head(`${mms.message.id}/${index}`)).toBeNull();
		expect((await mediaOf(mms.message.id)).status).toBe(404);
	});
});
