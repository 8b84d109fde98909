import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { MediaCopy } from "../../src/media/media-copies";
import { eventIdOfElement } from "../helpers/admin";
import { postCallback } from "../helpers/callback";
import { receivedAt, waitForForwarded } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { expectedFile, inboundMms, mediaPathOf, mediaUrl, waitForSettledMedia } from "../helpers/media";

type Forwarded = { data: { bandwidth: unknown; media: string[]; mediaCopies?: MediaCopy[] } };

async function forwardedEvent(mms: ReturnType<typeof inboundMms>): Promise<Forwarded> {
	const [request] = await waitForForwarded(await eventIdOfElement(mms));
	return JSON.parse(request!.body) as Forwarded;
}

describe("an inbound MMS", () => {
	it("is answered 200 and forwarded with its files copied to R2: right bytes, SHA-256 and content type", async () => {
		const mms = inboundMms((id) => [mediaUrl(id, 0, "photo.png"), mediaUrl(id, 1, "card.vcf", 5000)]);
		const response = await postCallback([mms]);
		expect(response.status).toBe(200);

		const event = await forwardedEvent(mms);
		const id = mms.message.id;
		const [png, vcf] = await Promise.all([
			expectedFile(mediaPathOf(id, 0, "photo.png")),
			expectedFile(mediaPathOf(id, 1, "card.vcf"), 5000),
		]);
		expect(event.data.mediaCopies).toEqual([
			expect.objectContaining({
				index: 0,
				originalUrl: (mms.message.media as string[])[0],
				status: "copied",
				contentType: "image/png",
				bytes: png.bytes.byteLength,
				sha256: png.sha256,
				url: expect.stringMatching(new RegExp(`^https://relay\\.test/media/${id}/0\\?exp=\\d+&sig=[\\w-]{43}$`)),
				expiresAt: expect.any(String),
			}),
			expect.objectContaining({
				index: 1,
				status: "copied",
				contentType: "text/vcard",
				bytes: 5000,
				sha256: vcf.sha256,
			}),
		]);
		// The original element is forwarded exactly as Bandwidth sent it.
		expect(event.data.bandwidth).toEqual(mms);
		const hours = (Date.parse(event.data.mediaCopies![0]!.expiresAt!) - Date.now()) / 3_600_000;
		expect(hours).toBeGreaterThan(167);
		expect(hours).toBeLessThanOrEqual(168);

		const stored = await env.MEDIA.get(`${id}/0`);
		expect(new Uint8Array(await stored!.arrayBuffer())).toEqual(png.bytes);

		const served = await exports.default.fetch(event.data.mediaCopies![0]!.url!);
		expect(served.status).toBe(200);
		expect(served.headers.get("content-type")).toBe("image/png");
		expect(served.headers.get("x-content-type-options")).toBe("nosniff");
		expect(new Uint8Array(await served.arrayBuffer())).toEqual(png.bytes);
		// Not an image, audio or video: downloaded, never rendered on the relay's origin.
		const card = await exports.default.fetch(event.data.mediaCopies![1]!.url!);
		expect(card.headers.get("content-disposition")).toBe("attachment");
		expect(new Uint8Array(await card.arrayBuffer())).toEqual(vcf.bytes);
	});

	it("records a file larger than MEDIA_MAX_BYTES (a 6 MB one) as skipped, and stores nothing of it", async () => {
		const mms = inboundMms((id) => [mediaUrl(id, 0, "movie.jpg", 6 * 1024 * 1024), mediaUrl(id, 1, "ok.jpg")]);
		await postCallback([mms]);
		const event = await forwardedEvent(mms);
		expect(event.data.mediaCopies).toEqual([
			expect.objectContaining({
				index: 0,
				status: "skipped",
				url: null,
				reason: expect.stringContaining("MEDIA_MAX_BYTES"),
			}),
			expect.objectContaining({ index: 1, status: "copied" }),
		]);
		expect(await env.MEDIA.head(`${mms.message.id}/0`)).toBeNull();
	});

	it("is answered and stored when Bandwidth's callback is a duplicate, and copied once", async () => {
		const mms = inboundMms((id) => [mediaUrl(id, 0, "a.png")]);
		await postCallback([mms]);
		await postCallback([mms]);
		const items = await waitForSettledMedia(mms.message.id);
		expect(items).toEqual([expect.objectContaining({ status: "copied" })]);
		expect(await receivedAt(mediaPathOf(mms.message.id, 0, "a.png"))).toHaveLength(1);
	});
});

describe("events that are not inbound MMS", () => {
	it("are forwarded without mediaCopies: an outbound MMS keeps the customer's own URLs", async () => {
		const sending = element("spec2026__message-sending.object.json");
		await postCallback([sending]);
		const [request] = await waitForForwarded(await eventIdOfElement(sending));
		const event = JSON.parse(request!.body) as Forwarded;
		expect(event.data).not.toHaveProperty("mediaCopies");
	});

	it("an inbound SMS is forwarded without mediaCopies", async () => {
		const sms = element("spec2026__message-received_sms.object.json");
		await postCallback([sms]);
		const [request] = await waitForForwarded(await eventIdOfElement(sms));
		expect(JSON.parse(request!.body).data).not.toHaveProperty("mediaCopies");
	});
});
