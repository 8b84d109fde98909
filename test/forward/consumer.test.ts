import { runInDurableObject } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { DEAD_UNRECORDED_RETRY_SECONDS } from "../../src/forward/forward-batch";
import { retryDelaySeconds } from "../../src/forward/retry-schedule";
import { freshPath, hookUrl, receivedAt, scriptResponses } from "../helpers/downstream";
import { consume, countedDuring, jobFor, storedEvent } from "../helpers/forward";
import { ledgerStub, partitionsOf } from "../helpers/ledger";
import { deliveriesOf, withEventTablesBroken, withTableRenamed } from "../helpers/storage";
import { TEST_ENV } from "../setup/test-env";

const SCHEDULE = TEST_ENV.FORWARD_RETRY_SCHEDULE.split(",").map(Number);
const [FIRST_SECRET, SECOND_SECRET] = TEST_ENV.FORWARD_SIGNING_SECRET.split(" ") as [string, string];

describe("a delivered event", () => {
	it("is posted once as a signed CloudEvent and acked, counted rather than recorded", async () => {
		const event = await storedEvent();
		const path = freshPath();
		const {
			result: { result, ids },
			counted,
		} = await countedDuring(() => consume([{ body: jobFor(event) }], { FORWARD_URL: hookUrl(path) }));
		expect(result.explicitAcks).toEqual(ids);
		expect(result.retryMessages).toEqual([]);

		const [request] = await receivedAt(path);
		expect(request).toMatchObject({ method: "POST", body: event.json });
		expect(request!.headers).toMatchObject({
			"content-type": "application/cloudevents+json",
			"webhook-id": event.id,
			"user-agent": expect.stringMatching(/^bandwidth-relay\/\d+\.\d+\.\d+$/),
		});
		expect(Number(request!.headers["webhook-timestamp"])).toBeCloseTo(Date.now() / 1000, -1);
		// A first-try success: one more entry in its batch's first-try row (attempts_YYYYMMDD), no deliveries row.
		expect(counted).toEqual({ delivered: 1, skipped: 0 });
		expect(await deliveriesOf(event.id)).toEqual([]);
	});

	it("is recorded, not only counted, when it is a replay, even on its first try", async () => {
		const event = await storedEvent();
		const path = freshPath();
		const { counted } = await countedDuring(() =>
			consume([{ body: { ...jobFor(event), replay: true } }], { FORWARD_URL: hookUrl(path) }),
		);
		expect(await receivedAt(path)).toHaveLength(1);
		expect(counted).toEqual({ delivered: 0, skipped: 0 });
		expect(await deliveriesOf(event.id)).toEqual([
			expect.objectContaining({ outcome: "delivered", http_status: 204, attempt: 1 }),
		]);
	});

	it("is recorded, not counted, when it succeeds on a later attempt", async () => {
		const event = await storedEvent();
		const path = freshPath();
		const { counted } = await countedDuring(() =>
			consume([{ body: jobFor(event), attempts: 2 }], { FORWARD_URL: hookUrl(path) }),
		);
		expect(counted).toEqual({ delivered: 0, skipped: 0 });
		expect(await deliveriesOf(event.id)).toEqual([
			expect.objectContaining({ outcome: "delivered", http_status: 204, attempt: 2 }),
		]);
	});

	it("carries one signature per secret, each verifiable by the standardwebhooks library", async () => {
		const event = await storedEvent();
		const path = freshPath();
		await consume([{ body: jobFor(event) }], { FORWARD_URL: hookUrl(path) });
		const [request] = await receivedAt(path);
		expect(request!.headers["webhook-signature"]).toMatch(/^v1,\S+ v1,\S+$/);
		for (const secret of [FIRST_SECRET, SECOND_SECRET]) {
			expect(new Webhook(secret).verify(request!.body, request!.headers)).toEqual(JSON.parse(event.json));
		}
		const stranger = "whsec_c29tZWJvZHktZWxzZXMtc2VjcmV0LW9mLTMyLWJ5dGVz";
		expect(() => new Webhook(stranger).verify(request!.body, request!.headers)).toThrow();
		expect(() => new Webhook(FIRST_SECRET).verify(`${request!.body} `, request!.headers)).toThrow();
	});

	it("is read from its message's ledger when the job carries only its ids, byte for byte, without D1", async () => {
		const event = await storedEvent();
		const path = freshPath();
		// With D1's events out of reach, only the ledger can have supplied the body.
		const { result } = await withEventTablesBroken(() =>
			consume([{ body: { eventId: event.id, messageId: event.messageId } }], { FORWARD_URL: hookUrl(path) }),
		);
		expect(result.explicitAcks).toHaveLength(1);
		const [request] = await receivedAt(path);
		expect(request!.body).toBe(event.json);
		expect(request!.headers["webhook-id"]).toBe(event.id);
	});

	it("falls back to D1 for a job with only the event id, byte for byte", async () => {
		const event = await storedEvent();
		const path = freshPath();
		const { result } = await consume([{ body: jobFor(event, false) }], { FORWARD_URL: hookUrl(path) });
		expect(result.explicitAcks).toHaveLength(1);
		const [request] = await receivedAt(path);
		expect(request!.body).toBe(event.json);
	});

	it("falls back to D1 when the ledger has forgotten the event", async () => {
		const event = await storedEvent();
		const partitions = await partitionsOf(event.messageId);
		expect(partitions.length).toBeGreaterThan(0);
		await runInDurableObject(ledgerStub(event.messageId), (_instance, state) => {
			for (const name of partitions) {
				state.storage.sql.exec(`DELETE FROM ${name} WHERE message_id = ? AND id = ?`, event.messageId, event.id);
			}
		});
		expect(await ledgerStub(event.messageId).body(event.messageId, event.id)).toBeNull();

		const path = freshPath();
		const job = { eventId: event.id, messageId: event.messageId };
		const { result } = await consume([{ body: job }], { FORWARD_URL: hookUrl(path) });
		expect(result.explicitAcks).toHaveLength(1);
		const [request] = await receivedAt(path);
		expect(request!.body).toBe(event.json);
	});

	it("records an event that neither the ledger nor D1 holds any more as dead, not retried", async () => {
		const event = await storedEvent();
		const gone = `evt_${crypto.randomUUID().replaceAll("-", "")}`;
		const { result, ids } = await consume([{ body: { eventId: gone, messageId: event.messageId } }], {
			FORWARD_URL: hookUrl(freshPath()),
		});
		expect(result.explicitAcks).toEqual(ids);
		expect(result.retryMessages).toEqual([]);
		expect(await deliveriesOf(gone)).toEqual([
			expect.objectContaining({ outcome: "dead", attempt: 1, error: "the event is no longer stored (ledger nor D1)" }),
		]);
	});
});

describe("failed attempts", () => {
	it.each([408, 409, 425, 429, 500, 502, 503, 504, 302, 418])(
		"retries HTTP %i on the schedule, with the same delay every time",
		async (status) => {
			const event = await storedEvent();
			const path = freshPath();
			await scriptResponses(path, [{ status }, { status }]);
			for (const attempts of [1, 2]) {
				const { result, retries, ids } = await consume([{ body: jobFor(event), attempts }], {
					FORWARD_URL: hookUrl(path),
				});
				const expected = retryDelaySeconds(SCHEDULE, event.id, attempts, null);
				expect(retries).toEqual([{ msgId: ids[0], delaySeconds: expected }]);
				expect(result.retryMessages).toEqual([{ msgId: ids[0] }]);
				expect(result.explicitAcks).toEqual([]);
				// ±20 % around the documented step: 5 s, then 5 min.
				const step = SCHEDULE[attempts - 1]!;
				expect(expected).toBeGreaterThanOrEqual(Math.floor(step * 0.8));
				expect(expected).toBeLessThanOrEqual(Math.ceil(step * 1.2));
			}
			expect((await deliveriesOf(event.id)).slice(-2)).toEqual([
				expect.objectContaining({ outcome: "failed", http_status: status, attempt: 1 }),
				expect.objectContaining({ outcome: "failed", http_status: status, attempt: 2 }),
			]);
		},
	);

	it.each([400, 401, 403, 404, 405, 410, 413, 422])("gives up at once on HTTP %i", async (status) => {
		const event = await storedEvent();
		const path = freshPath();
		await scriptResponses(path, [{ status, body: "gone for good" }]);
		const { result, ids } = await consume([{ body: jobFor(event) }], { FORWARD_URL: hookUrl(path) });
		expect(result.explicitAcks).toEqual(ids);
		expect(result.retryMessages).toEqual([]);
		expect((await deliveriesOf(event.id)).at(-1)).toMatchObject({
			outcome: "dead",
			http_status: status,
			error: `HTTP ${status}: gone for good`,
		});
	});

	it("retries a network error", async () => {
		const event = await storedEvent();
		const { result } = await consume([{ body: jobFor(event) }], { FORWARD_URL: "http://127.0.0.1:1/closed" });
		expect(result.retryMessages).toHaveLength(1);
		expect((await deliveriesOf(event.id)).at(-1)).toMatchObject({
			outcome: "failed",
			http_status: null,
			error: expect.stringMatching(/^network error: /),
		});
	});

	it("retries an endpoint that does not answer within the timeout", async () => {
		const event = await storedEvent();
		const path = freshPath();
		await scriptResponses(path, [{ status: 204, delayMs: 1500 }]);
		const { result } = await consume([{ body: jobFor(event) }], {
			FORWARD_URL: hookUrl(path),
			FORWARD_TIMEOUT_MS: "200",
		});
		expect(result.retryMessages).toHaveLength(1);
		expect((await deliveriesOf(event.id)).at(-1)).toMatchObject({ outcome: "failed", error: "timed out after 200 ms" });
	});

	it("waits as long as Retry-After asks, up to the next step of the schedule", async () => {
		const event = await storedEvent();
		const path = freshPath();
		await scriptResponses(path, [
			{ status: 429, headers: { "retry-after": "120" } },
			{ status: 503, headers: { "retry-after": "86400" } },
		]);
		const first = await consume([{ body: jobFor(event) }], { FORWARD_URL: hookUrl(path) });
		expect(first.retries[0]?.delaySeconds).toBe(120);
		const second = await consume([{ body: jobFor(event) }], { FORWARD_URL: hookUrl(path) });
		expect(second.retries[0]?.delaySeconds).toBe(300);
	});

	it("gives up once the schedule is spent", async () => {
		const event = await storedEvent();
		const path = freshPath();
		await scriptResponses(path, [{ status: 503 }]);
		const attempts = SCHEDULE.length + 1;
		const { result, ids } = await consume([{ body: jobFor(event), attempts }], { FORWARD_URL: hookUrl(path) });
		expect(result.explicitAcks).toEqual(ids);
		expect((await deliveriesOf(event.id)).at(-1)).toMatchObject({
			outcome: "dead",
			attempt: attempts,
			error: `gave up after ${attempts} attempts; last: HTTP 503: `,
		});
	});

	it("delivers once after three failures, with the same webhook-id on every attempt", async () => {
		const event = await storedEvent();
		const path = freshPath();
		await scriptResponses(path, [{ status: 503 }, { status: 500 }, { status: 429 }]);
		const id = crypto.randomUUID();
		const delays: Array<number | undefined> = [];
		for (const attempts of [1, 2, 3, 4]) {
			const { result, retries } = await consume([{ body: jobFor(event), attempts, id }], {
				FORWARD_URL: hookUrl(path),
			});
			delays.push(retries[0]?.delaySeconds);
			if (attempts === 4) expect(result.explicitAcks).toEqual([id]);
		}
		const expected = [1, 2, 3].map((n) => retryDelaySeconds(SCHEDULE, event.id, n, null));
		expect(delays).toEqual([...expected, undefined]);
		const requests = await receivedAt(path);
		expect(requests.map((request) => request.headers["webhook-id"])).toEqual(Array(4).fill(event.id));
		expect(requests.every((request) => request.body === event.json)).toBe(true);
		expect((await deliveriesOf(event.id)).map((row) => row.outcome).slice(-4)).toEqual([
			"failed",
			"failed",
			"failed",
			"delivered",
		]);
	});

	it("settles each message on its own: one failure does not retry the batch", async () => {
		const [ok, flaky, gone] = await Promise.all([storedEvent(), storedEvent(), storedEvent()]);
		const path = freshPath();
		await scriptResponses(path, [{ status: 503 }], flaky!.id);
		await scriptResponses(path, [{ status: 410 }], gone!.id);
		const { result, ids } = await consume(
			[{ body: jobFor(ok!) }, { body: jobFor(flaky!) }, { body: jobFor(gone!) }, { body: { nonsense: true } }],
			{ FORWARD_URL: hookUrl(path) },
		);
		expect(result.retryBatch.retry).toBe(false);
		expect(result.retryMessages.map((message) => message.msgId)).toEqual([ids[1]]);
		expect(result.explicitAcks.sort()).toEqual([ids[0], ids[2], ids[3]].sort());
	});
});

describe("never throwing an event away", () => {
	it("retries when the stored event cannot be read", async () => {
		const event = await storedEvent();
		await withEventTablesBroken(async () => {
			const { result } = await consume([{ body: jobFor(event, false) }], { FORWARD_URL: hookUrl(freshPath()) });
			expect(result.retryMessages).toHaveLength(1);
			expect(result.explicitAcks).toEqual([]);
		});
		expect((await deliveriesOf(event.id)).at(-1)).toMatchObject({
			outcome: "failed",
			error: expect.stringMatching(/^unexpected error: /),
		});
	});

	it("keeps a dead event on the queue until its dead record is written", async () => {
		const [fine, gone] = await Promise.all([storedEvent(), storedEvent()]);
		const path = freshPath();
		await scriptResponses(path, [{ status: 410 }, { status: 410 }], gone!.id);
		const run = () => consume([{ body: jobFor(fine!) }, { body: jobFor(gone!) }], { FORWARD_URL: hookUrl(path) });
		const during = await withTableRenamed("deliveries", run);
		// Delivered is acked even unrecorded (a resend would be worse); dead waits for its record.
		expect(during.result.explicitAcks).toEqual([during.ids[0]]);
		expect(during.retries).toEqual([{ msgId: during.ids[1], delaySeconds: DEAD_UNRECORDED_RETRY_SECONDS }]);
		const after = await run();
		expect(after.result.explicitAcks.sort()).toEqual([...after.ids].sort());
		expect((await deliveriesOf(gone!.id)).at(-1)).toMatchObject({ outcome: "dead", http_status: 410 });
	});

	it("records a malformed queue message as dead instead of looping on it", async () => {
		const { result, ids } = await consume([{ body: { eventId: 42 } }], { FORWARD_URL: hookUrl(freshPath()) });
		expect(result.explicitAcks).toEqual(ids);
	});

	it("holds events while the signing secret is missing", async () => {
		const event = await storedEvent();
		const { result } = await consume([{ body: jobFor(event) }], {
			FORWARD_URL: hookUrl(freshPath()),
			FORWARD_SIGNING_SECRET: "",
		});
		expect(result.retryMessages).toHaveLength(1);
		expect((await deliveriesOf(event.id)).at(-1)).toMatchObject({
			outcome: "failed",
			error: "FORWARD_SIGNING_SECRET is not set",
		});
	});
});
