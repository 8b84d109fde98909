import { describe, expect, it, vi } from "vitest";
import { freshPath, hookUrl, scriptResponses, statsOf } from "../helpers/downstream";
import { consume, jobFor, storedEvent } from "../helpers/forward";
import { deliveriesOf } from "../helpers/storage";

/*
 * A destination's non-2xx answer is recorded with the start of its body. Only that start is read:
 * the rest is cancelled, so a destination answering with a huge or endless body costs the consumer
 * neither memory nor time.
 */

const EXCERPT = `HTTP 503: ${"x".repeat(300)}`;

describe("a destination's error body", () => {
	it("of 32 MB, chunked: only its start is read, recorded as the excerpt, and the rest is cancelled", async () => {
		const event = await storedEvent();
		const path = freshPath();
		await scriptResponses(path, [{ status: 503, streamBytes: 32 * 1024 * 1024 }]);
		const { result } = await consume([{ body: jobFor(event) }], { FORWARD_URL: hookUrl(path) });
		expect(result.retryMessages).toHaveLength(1);
		expect((await deliveriesOf(event.id)).at(-1)).toMatchObject({
			outcome: "failed",
			http_status: 503,
			error: EXCERPT,
		});
		// The downstream sees its answer abandoned before it was all sent.
		await vi.waitUntil(async () => (await statsOf(path)).aborted === 1, { timeout: 5000, interval: 50 });
		expect(await statsOf(path)).toMatchObject({ requests: 1, inFlight: 0, aborted: 1 });
	});

	it("that never ends: the attempt settles with the excerpt, not at the timeout", async () => {
		const event = await storedEvent();
		const path = freshPath();
		await scriptResponses(path, [{ status: 503, streamBytes: 64 * 1024, holdOpenMs: 30_000 }]);
		const { result } = await consume([{ body: jobFor(event) }], {
			FORWARD_URL: hookUrl(path),
			FORWARD_TIMEOUT_MS: "5000",
		});
		expect(result.retryMessages).toHaveLength(1);
		expect((await deliveriesOf(event.id)).at(-1)).toMatchObject({
			outcome: "failed",
			http_status: 503,
			error: EXCERPT,
		});
		await vi.waitUntil(async () => (await statsOf(path)).aborted === 1, { timeout: 5000, interval: 50 });
	});

	it("shorter than the excerpt is kept whole, multi-byte characters intact", async () => {
		const event = await storedEvent();
		const path = freshPath();
		await scriptResponses(path, [{ status: 410, body: "gone: ünïcödé ✓ 🚀" }]);
		await consume([{ body: jobFor(event) }], { FORWARD_URL: hookUrl(path) });
		expect((await deliveriesOf(event.id)).at(-1)).toMatchObject({
			outcome: "dead",
			error: "HTTP 410: gone: ünïcödé ✓ 🚀",
		});
	});
});
