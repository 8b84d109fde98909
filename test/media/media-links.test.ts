import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readMediaConfig } from "../../src/media/media-config";
import { mintLink } from "../../src/media/media-link";
import { adminFetch } from "../helpers/admin";
import { postCallback } from "../helpers/callback";
import { inboundMms, mediaUrl, waitForSettledMedia } from "../helpers/media";

const RELAY = "https://relay.test";

async function copiedMessage(): Promise<string> {
	const mms = inboundMms((id) => [mediaUrl(id, 0, "a.png")]);
	await postCallback([mms]);
	await waitForSettledMedia(mms.message.id);
	return mms.message.id;
}

function config() {
	const read = readMediaConfig(env);
	if (!read.ok) throw new Error(read.message);
	return read.value;
}

async function errorOf(response: Response): Promise<{ status: number; code: string }> {
	const body = await response.json<{ error: { code: string; message: string } }>();
	expect(body.error.message).toEqual(expect.any(String));
	return { status: response.status, code: body.error.code };
}

describe("a signed media link", () => {
	it("streams the copy while valid", async () => {
		const id = await copiedMessage();
		const link = await mintLink(config(), RELAY, `${id}/0`, Math.floor(Date.now() / 1000) + 60);
		const response = await exports.default.fetch(link!);
		expect(response.status).toBe(200);
		expect(response.headers.get("content-type")).toBe("image/png");
		expect(response.headers.get("content-security-policy")).toContain("sandbox");
		// The stand-in's unsized .png is a real picture: it starts with PNG's signature.
		expect([...new Uint8Array(await response.arrayBuffer()).slice(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
	});

	it("answers 403 link_expired once expired, even with a right signature", async () => {
		const id = await copiedMessage();
		const link = await mintLink(config(), RELAY, `${id}/0`, Math.floor(Date.now() / 1000) - 1);
		expect(await errorOf(await exports.default.fetch(link!))).toEqual({ status: 403, code: "link_expired" });
	});

	it("answers 403 invalid_signature when tampered: another file, a later expiry, a changed or missing signature", async () => {
		const id = await copiedMessage();
		const exp = Math.floor(Date.now() / 1000) + 600;
		const link = new URL((await mintLink(config(), RELAY, `${id}/0`, exp))!);
		const sig = link.searchParams.get("sig")!;
		const flipped = `${sig[0] === "A" ? "B" : "A"}${sig.slice(1)}`;
		const tampered = [
			`${RELAY}/media/${id}/1?exp=${exp}&sig=${sig}`,
			`${RELAY}/media/${id}/0?exp=${exp + 3600}&sig=${sig}`,
			`${RELAY}/media/${id}/0?exp=${exp}&sig=${flipped}`,
			`${RELAY}/media/${id}/0?exp=${exp}`,
			`${RELAY}/media/${id}/0`,
		];
		for (const url of tampered) {
			expect(await errorOf(await exports.default.fetch(url)), url).toEqual({ status: 403, code: "invalid_signature" });
		}
	});

	it("answers 404 once the file is gone", async () => {
		const id = await copiedMessage();
		const link = await mintLink(config(), RELAY, `${id}/0`, Math.floor(Date.now() / 1000) + 60);
		await env.MEDIA.delete(`${id}/0`);
		expect(await errorOf(await exports.default.fetch(link!))).toEqual({ status: 404, code: "not_found" });
	});

	it("is minted afresh by GET /v1/media/:messageId, which needs the admin token", async () => {
		const id = await copiedMessage();
		expect((await adminFetch(`/v1/media/${id}`, { token: null })).status).toBe(401);
		expect(await errorOf(await adminFetch("/v1/media/no-such-message"))).toEqual({ status: 404, code: "not_found" });
		const response = await adminFetch(`/v1/media/${id}`);
		const body = await response.json<{ messageId: string; items: Array<{ url: string; status: string }> }>();
		expect(body).toMatchObject({ messageId: id, items: [{ status: "copied" }] });
		expect((await exports.default.fetch(body.items[0]!.url)).status).toBe(200);
	});
});

describe("what a link serves", () => {
	/** The headers a link to a stored file of this content type is served with. */
	async function servedAs(contentType: string | undefined) {
		const key = `served${crypto.randomUUID().replaceAll("-", "")}/0`;
		await env.MEDIA.put(key, "<script>alert(document.domain)</script>", {
			httpMetadata: contentType === undefined ? {} : { contentType },
		});
		const link = await mintLink(config(), RELAY, key, Math.floor(Date.now() / 1000) + 60);
		const response = await exports.default.fetch(link!);
		expect(response.status).toBe(200);
		await response.arrayBuffer();
		return {
			type: response.headers.get("content-type"),
			disposition: response.headers.get("content-disposition"),
			nosniff: response.headers.get("x-content-type-options"),
		};
	}

	const attachment = { type: "application/octet-stream", disposition: "attachment", nosniff: "nosniff" };
	const inline = (type: string) => ({ type, disposition: null, nosniff: "nosniff" });

	it.each([
		// A browser reads a header holding a list by its last type: this one renders as HTML.
		["audio/x;a=1, text/html", attachment],
		["image/png, text/html", attachment],
		['image/png;x="a", text/html', attachment],
		["text/html", attachment],
		["image/svg+xml", attachment],
		["text/vcard", attachment],
		["application/octet-stream", attachment],
		["not a type", attachment],
		[undefined, attachment],
		// Inline types are served as the bare type, parameters dropped.
		["image/png", inline("image/png")],
		["IMAGE/JPEG; charset=binary", inline("image/jpeg")],
		["audio/amr", inline("audio/amr")],
		["video/mp4;codecs=avc1", inline("video/mp4")],
		// A comma inside a quoted parameter is not a list.
		['image/png; name="a, text/html"', inline("image/png")],
		["image/png text/html", attachment],
	])("a stored content type of %j is served as %j", async (stored, expected) => {
		expect(await servedAs(stored)).toEqual(expected);
	});
});
