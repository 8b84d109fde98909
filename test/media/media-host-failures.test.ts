import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { copyFile } from "../../src/media/copy-file";
import type { MediaCopy } from "../../src/media/media-copies";
import { eventIdOfElement } from "../helpers/admin";
import { postCallback } from "../helpers/callback";
import { downstreamBase, receivedAt, scriptResponses, waitForForwarded } from "../helpers/downstream";
import { inboundMms, mediaHost, mediaOf, mediaPathOf, mediaUrl, waitForSettledMedia } from "../helpers/media";
import { TEST_ENV } from "../setup/test-env";

const FORWARD_DELAY_MS = Number(TEST_ENV.MEDIA_FORWARD_DELAY_MS);

async function forwardedCopies(mms: ReturnType<typeof inboundMms>): Promise<MediaCopy[]> {
	const [request] = await waitForForwarded(await eventIdOfElement(mms));
	return (JSON.parse(request!.body) as { data: { mediaCopies: MediaCopy[] } }).data.mediaCopies;
}

/** An MMS of one file whose media host path first answers with `status`. */
async function mmsAnswered(status: number, delayMs?: number) {
	const mms = inboundMms((id) => [mediaUrl(id, 0, "x.png")]);
	const path = mediaPathOf(mms.message.id, 0, "x.png");
	await scriptResponses(path, [{ status, body: "", ...(delayMs === undefined ? {} : { delayMs }) }]);
	const started = Date.now();
	await postCallback([mms]);
	return { mms, path, copies: await forwardedCopies(mms), waitedMs: Date.now() - started };
}

describe("a media host that refuses", () => {
	it("with 404: the file is failed for good, and the event forwarded at once", async () => {
		const { copies, path } = await mmsAnswered(404);
		expect(copies).toEqual([expect.objectContaining({ status: "failed", reason: "HTTP 404", url: null })]);
		expect(await receivedAt(path)).toHaveLength(1);
	});

	it("with 500: the event goes after the bounded wait with the file pending, to be retried later", async () => {
		const { copies, mms, waitedMs } = await mmsAnswered(500);
		expect(copies).toEqual([expect.objectContaining({ status: "pending", reason: "HTTP 500", url: null })]);
		expect(waitedMs).toBeGreaterThanOrEqual(FORWARD_DELAY_MS - 100);
		const { items } = await mediaOf(mms.message.id);
		expect(items).toEqual([expect.objectContaining({ status: "pending" })]);
	});

	it("with 401: the cached token is dropped and the file stays pending (credentials can be fixed within 48 hours)", async () => {
		const { copies } = await mmsAnswered(401);
		expect(copies).toEqual([expect.objectContaining({ status: "pending", reason: "HTTP 401" })]);
	});

	it("slowly: the event goes pending after the bounded wait, and the copy completes behind it", async () => {
		const { copies, mms } = await mmsAnswered(200, FORWARD_DELAY_MS + 2000);
		// The scripted 200 carries no file; what matters is that the forward did not wait for it.
		expect(copies).toEqual([expect.objectContaining({ status: "pending" })]);
		const settled = await waitForSettledMedia(mms.message.id);
		expect(settled).toEqual([expect.objectContaining({ status: "copied", bytes: 0 })]);
	});
});

describe("credentials never leave for another host", () => {
	it("a forged event's media on other hosts is failed without a request, so no credentials are sent", async () => {
		const attacker = `http://localhost:${new URL(downstreamBase()).port}`;
		const mms = inboundMms((id) => [
			`${attacker}${mediaPathOf(id, 0, "steal.png")}`,
			`https://attacker.example${mediaPathOf(id, 1, "steal.png")}`,
			// The allowed host over plain http is allowed only because it is a loopback host:port.
			mediaUrl(id, 2, "fine.png"),
			`http://user:pass@${new URL(downstreamBase()).host}${mediaPathOf(id, 3, "userinfo.png")}`,
		]);
		await postCallback([mms]);
		const copies = await forwardedCopies(mms);
		expect(copies.map((copy) => copy.status)).toEqual(["failed", "failed", "copied", "failed"]);
		expect(copies[0]!.reason).toContain("BANDWIDTH_MEDIA_HOSTS");
		expect(await receivedAt(mediaPathOf(mms.message.id, 0, "steal.png"))).toEqual([]);
		expect(await receivedAt(mediaPathOf(mms.message.id, 3, "userinfo.png"))).toEqual([]);
	});

	it("a redirect from the media host is not followed: the other host receives nothing", async () => {
		const mms = inboundMms((id) => [mediaUrl(id, 0, "moved.png")]);
		const target = `/attacker/${mms.message.id}`;
		await scriptResponses(mediaPathOf(mms.message.id, 0, "moved.png"), [
			{ status: 302, headers: { location: `http://localhost:${new URL(downstreamBase()).port}${target}` } },
		]);
		await postCallback([mms]);
		const copies = await forwardedCopies(mms);
		expect(copies).toEqual([
			expect.objectContaining({ status: "failed", reason: expect.stringContaining("redirect") }),
		]);
		const [asked] = await receivedAt(mediaPathOf(mms.message.id, 0, "moved.png"));
		expect(asked!.headers.authorization).toMatch(/^Bearer /);
		expect(await receivedAt(target)).toEqual([]);
	});
});

describe("an old event", () => {
	it("past Bandwidth's 48 hours is expired, never fetched", async () => {
		const mms = inboundMms((id) => [mediaUrl(id, 0, "late.png")]);
		mms.time = new Date(Date.now() - 49 * 3600_000).toISOString();
		await postCallback([mms]);
		const copies = await forwardedCopies(mms);
		expect(copies).toEqual([expect.objectContaining({ status: "expired" })]);
		expect(await receivedAt(mediaPathOf(mms.message.id, 0, "late.png"))).toEqual([]);
		expect(await env.MEDIA.head(`${mms.message.id}/0`)).toBeNull();
	});
});

describe("credentials go only to this message's media path on the media host", () => {
	it("a URL that leaves /api/v2/users/{account}/media/{messageId}/… (after normalization) is skipped without a request", async () => {
		const mms = inboundMms((id) => [
			`${downstreamBase()}/api/v2/users/9900000/media/${id}/0/../../../../../../../private/${id}/dots`,
			`${downstreamBase()}/api/v2/users/9900000/media/${id}/1/%2e%2e/%2E%2e/.%2e/%2e./%2e%2e/%2e%2e/%2e%2e/private/${id}/encoded`,
			`${downstreamBase()}/api/v2/users/9900000/media/${id}/2/..%2F..%2F..%2F..%2F..%2F..%2Fprivate%2F${id}`,
			mediaUrl(`another${id}`, 3, "other.png"),
			`${downstreamBase()}/api/v2/users//media/${id}/4/empty-account.png`,
			`${downstreamBase()}/api/v2/users/9900000/media/${id}`,
			`${downstreamBase()}/api/v2/users/9900000/media/${id}/6/%5c..%5c..%5cprivate.png`,
			mediaUrl(id, 7, "fine.png"),
		]);
		const id = mms.message.id;
		const forbidden = [
			`/private/${id}/dots`,
			`/private/${id}/encoded`,
			`/api/v2/users/9900000/media/${id}/2/..%2F..%2F..%2F..%2F..%2F..%2Fprivate%2F${id}`,
			mediaPathOf(`another${id}`, 3, "other.png"),
			`/api/v2/users//media/${id}/4/empty-account.png`,
			`/api/v2/users/9900000/media/${id}`,
			`/api/v2/users/9900000/media/${id}/6/%5c..%5c..%5cprivate.png`,
		];
		// What an attacker would fetch with the relay's credentials, were the request made.
		for (const path of forbidden) await scriptResponses(path, [{ status: 200, body: "secret" }]);
		await postCallback([mms]);
		const copies = await forwardedCopies(mms);
		expect(copies.map((copy) => copy.status)).toEqual([...forbidden.map(() => "skipped"), "copied"]);
		for (const copy of copies.slice(0, forbidden.length)) {
			expect(copy.reason).toContain(`/api/v2/users/{accountId}/media/${id}/`);
		}
		for (const path of forbidden) expect(await receivedAt(path), path).toEqual([]);
		for (const index of forbidden.keys()) expect(await env.MEDIA.head(`${id}/${index}`)).toBeNull();
	});

	it("copyFile checks the path itself, whatever its caller checked (a state stored before this check)", async () => {
		const id = `guard${crypto.randomUUID().replaceAll("-", "")}`;
		const path = `/private/${id}`;
		await scriptResponses(path, [{ status: 200, body: "secret" }]);
		const outcome = await copyFile({
			url: `${downstreamBase()}/api/v2/users/9900000/media/${id}/0/../../../../../../../private/${id}`,
			messageId: id,
			key: `${id}/0`,
			hosts: [{ host: mediaHost(), loopback: true }],
			credentials: { kind: "basic", username: "u", password: "p" },
			maxBytes: 1024,
			bucket: env.MEDIA,
			timeoutMs: 5_000,
		});
		expect(outcome).toEqual({ status: "skipped", reason: expect.stringContaining("media path") });
		expect(await receivedAt(path)).toEqual([]);
		expect(await env.MEDIA.head(`${id}/0`)).toBeNull();
	});
});
