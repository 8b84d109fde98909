import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import type { MediaCopier } from "../../src/media/media-copier.do";
import type { MediaCopy } from "../../src/media/media-copies";
import { eventIdOfElement } from "../helpers/admin";
import { postCallback } from "../helpers/callback";
import { freshPath, hookUrl, receivedAt, scriptResponses, waitForForwarded } from "../helpers/downstream";
import { consume, storedEvent } from "../helpers/forward";
import { inboundMms, mediaOf, mediaPathOf, mediaUrl, waitForSettledMedia } from "../helpers/media";
import { eventsOf, waitForEvents } from "../helpers/storage";
import { BACKGROUND_WAIT_MS } from "../helpers/wait";
import { TEST_ENV } from "../setup/test-env";

const FORWARD_DELAY_MS = Number(TEST_ENV.MEDIA_FORWARD_DELAY_MS);
const [SECRET] = TEST_ENV.FORWARD_SIGNING_SECRET.split(" ") as [string];

type Body = { data: { mediaCopies?: MediaCopy[]; bandwidth: unknown } };

/** An MMS stored by a real callback; its first forward (to the default hook) already done. */
async function storedMms(media: (id: string) => string[]) {
	const mms = inboundMms(media);
	await postCallback([mms]);
	const eventId = await eventIdOfElement(mms);
	await waitForForwarded(eventId);
	const [row] = await eventsOf(mms.message.id);
	return { mms, eventId, json: row!.normalized_json };
}

describe("the forward of an inbound MMS", () => {
	it("is signed over the body that carries mediaCopies: the customer's verifier accepts it", async () => {
		const { eventId } = await storedMms((id) => [mediaUrl(id, 0, "a.png")]);
		const [request] = await waitForForwarded(eventId);
		const verified = new Webhook(SECRET).verify(request!.body, request!.headers) as Body;
		expect(verified.data.mediaCopies).toEqual([expect.objectContaining({ status: "copied" })]);
	});

	it("does not wait again on a retry: the bound counts from the copy's start", async () => {
		const mms = inboundMms((id) => [mediaUrl(id, 0, "down.png")]);
		await scriptResponses(mediaPathOf(mms.message.id, 0, "down.png"), [{ status: 503 }]);
		await postCallback([mms]);
		const eventId = await eventIdOfElement(mms);
		await waitForForwarded(eventId);
		const [row] = await eventsOf(mms.message.id);
		const path = freshPath();
		const started = Date.now();
		await consume([{ body: { eventId, event: row!.normalized_json }, attempts: 2 }], { FORWARD_URL: hookUrl(path) });
		expect(Date.now() - started).toBeLessThan(FORWARD_DELAY_MS);
		const [again] = await receivedAt(path);
		expect((JSON.parse(again!.body) as Body).data.mediaCopies).toEqual([
			expect.objectContaining({ status: "pending", reason: "HTTP 503" }),
		]);
	});

	it("is not held when the event is skipped, and its copy is made anyway (started by the callback)", async () => {
		// A file slower than the forward's whole wait: a skipped event that waited would show it.
		const mms = inboundMms((id) => [`${mediaUrl(id, 0, "kept.png")}?delayMs=${FORWARD_DELAY_MS + 1500}`]);
		await postCallback([mms]);
		const eventId = await eventIdOfElement(mms);
		const [row] = await waitForEvents(mms.message.id, 1);
		const json = row!.normalized_json;
		// The copy starts after the 2xx, beside the D1 write: either may come first.
		const copies = await vi.waitUntil(
			async () => {
				const media = await mediaOf(mms.message.id);
				return media.status === 200 ? media.items : undefined;
			},
			{ timeout: BACKGROUND_WAIT_MS, interval: 20 },
		);
		expect(copies).toEqual([expect.objectContaining({ status: "pending" })]);
		const started = Date.now();
		const { result } = await consume([{ body: { eventId, event: json } }], { FORWARD_URL: "" });
		expect(result.explicitAcks).toHaveLength(1);
		expect(Date.now() - started).toBeLessThan(FORWARD_DELAY_MS);
		expect(await waitForSettledMedia(mms.message.id)).toEqual([expect.objectContaining({ status: "copied" })]);
	});

	it("starts the copy itself when the callback's start was lost", async () => {
		const mms = inboundMms((id) => [mediaUrl(id, 0, "late-start.png")]);
		const eventId = await eventIdOfElement(mms);
		// As stored, but never seen by the copier: a forward job for an event whose waitUntil died.
		await postCallback([mms]);
		await waitForForwarded(eventId);
		const [row] = await eventsOf(mms.message.id);
		const event = JSON.parse(row!.normalized_json) as { data: { messageId: string; media: string[] } };
		const otherId = `${mms.message.id.slice(0, -4)}zzzz`;
		event.data.messageId = otherId;
		event.data.media = [mediaUrl(otherId, 0, "late-start.png")];
		expect((await mediaOf(otherId)).status).toBe(404);
		const path = freshPath();
		await consume([{ body: { eventId, event: JSON.stringify(event) } }], { FORWARD_URL: hookUrl(path) });
		const [request] = await receivedAt(path);
		expect((JSON.parse(request!.body) as Body).data.mediaCopies).toEqual([
			expect.objectContaining({ status: "copied", url: null }),
		]);
		// No callback brought it, so no origin: GET /v1/media uses its own request's.
		expect((await mediaOf(otherId)).items).toEqual([
			expect.objectContaining({ url: expect.stringMatching(/^https:\/\/relay\.test\/media\//) }),
		]);
	});
});

describe("without Bandwidth credentials", () => {
	it("each file is recorded as skipped, with the reason, and nothing is fetched", async () => {
		const mms = inboundMms((id) => [mediaUrl(id, 0, "none.png")]);
		const stub = env.MEDIA_COPIER.getByName(mms.message.id);
		const state = await runInDurableObject(stub, async (instance: MediaCopier) => {
			// This copier alone sees a deployment without credentials.
			(instance as unknown as { env: Env }).env = { ...env, BANDWIDTH_CLIENT_ID: "", BANDWIDTH_CLIENT_SECRET: "" };
			return instance.start({
				messageId: mms.message.id,
				eventTime: mms.time,
				media: mms.message.media as string[],
				origin: null,
			});
		});
		expect(state?.items).toEqual([
			expect.objectContaining({ status: "skipped", reason: expect.stringContaining("BANDWIDTH_CLIENT_ID") }),
		]);
		expect(await receivedAt(mediaPathOf(mms.message.id, 0, "none.png"))).toEqual([]);
	});
});

describe("old events and missing credentials", () => {
	const copierStorage = (messageId: string) =>
		runInDurableObject(
			env.MEDIA_COPIER.getByName(messageId),
			async (_instance: MediaCopier, state) => (await state.storage.list()).size,
		);

	/**
	 * A forward job for this MMS that no callback brought (so nothing started its copy): a stored
	 * delivery receipt made into the MMS's inbound event, as ingest would have stored it.
	 */
	async function unpostedJob(mms: ReturnType<typeof inboundMms>): Promise<{ eventId: string; event: string }> {
		const stored = await storedEvent("spec2026__message-delivered_sms.object.json");
		const event = JSON.parse(stored.json) as { data: Record<string, unknown>; type: string; time: string };
		event.type = "bandwidth.message.received";
		event.time = mms.time;
		Object.assign(event.data, { messageId: mms.message.id, direction: "inbound", media: mms.message.media });
		return { eventId: stored.id, event: JSON.stringify(event) };
	}

	it("without credentials: each file skipped in the forward, and no copier object is stored", async () => {
		const mms = inboundMms((id) => [mediaUrl(id, 0, "none.png"), mediaUrl(id, 1, "none.png")]);
		const path = freshPath();
		const noCredentials = { FORWARD_URL: hookUrl(path), BANDWIDTH_CLIENT_ID: "", BANDWIDTH_CLIENT_SECRET: "" };
		await consume([{ body: await unpostedJob(mms) }], noCredentials);
		const [request] = await receivedAt(path);
		const copies = (JSON.parse(request!.body) as Body).data.mediaCopies;
		expect(copies).toEqual([
			expect.objectContaining({ index: 0, status: "skipped", reason: expect.stringContaining("BANDWIDTH_CLIENT_ID") }),
			expect.objectContaining({ index: 1, status: "skipped" }),
		]);
		expect(await copierStorage(mms.message.id)).toBe(0);
		expect(await receivedAt(mediaPathOf(mms.message.id, 0, "none.png"))).toEqual([]);
	});

	it("skipped for want of credentials, then copied by a replay once they are set (within 48 hours)", async () => {
		const mms = inboundMms((id) => [mediaUrl(id, 0, "later.png")]);
		const body = await unpostedJob(mms);
		const before = freshPath();
		await consume([{ body }], { FORWARD_URL: hookUrl(before), BANDWIDTH_CLIENT_ID: "", BANDWIDTH_CLIENT_SECRET: "" });
		const after = freshPath();
		// The same job again, as a replay sends it, on a deployment that has the credentials now.
		await consume([{ body }], { FORWARD_URL: hookUrl(after) });
		const copiesAt = async (path: string) => (JSON.parse((await receivedAt(path))[0]!.body) as Body).data.mediaCopies;
		expect(await copiesAt(before)).toEqual([expect.objectContaining({ status: "skipped" })]);
		expect(await copiesAt(after)).toEqual([expect.objectContaining({ status: "copied", sha256: expect.any(String) })]);
		expect(await receivedAt(mediaPathOf(mms.message.id, 0, "later.png"))).toHaveLength(1);
	});

	it("past Bandwidth's 48 hours: expired in the forward, and no copier object is stored", async () => {
		const mms = inboundMms((id) => [mediaUrl(id, 0, "old.png")]);
		mms.time = new Date(Date.now() - 49 * 3600_000).toISOString();
		await postCallback([mms]);
		const eventId = await eventIdOfElement(mms);
		const [request] = await waitForForwarded(eventId);
		expect((JSON.parse(request!.body) as Body).data.mediaCopies).toEqual([
			expect.objectContaining({ status: "expired" }),
		]);
		expect(await copierStorage(mms.message.id)).toBe(0);
	});

	it("past 48 hours but copied before: the forward still carries the copies (a replay days later)", async () => {
		const { mms, eventId, json } = await storedMms((id) => [mediaUrl(id, 0, "kept.png")]);
		await waitForSettledMedia(mms.message.id);
		const late = JSON.parse(json) as { time: string };
		late.time = new Date(Date.now() - 72 * 3600_000).toISOString();
		const path = freshPath();
		await consume([{ body: { eventId, event: JSON.stringify(late) } }], { FORWARD_URL: hookUrl(path) });
		const [request] = await receivedAt(path);
		expect((JSON.parse(request!.body) as Body).data.mediaCopies).toEqual([
			expect.objectContaining({ status: "copied", url: expect.stringContaining("/media/") }),
		]);
	});
});
