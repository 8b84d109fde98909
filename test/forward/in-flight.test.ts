import { expect, it } from "vitest";
import { eventIdOf } from "../../src/bandwidth/event-id";
import { ATTEMPTS_IN_FLIGHT, BODY_BYTES_IN_FLIGHT } from "../../src/forward/forward-batch";
import { postCallback } from "../helpers/callback";
import {
	DEFAULT_HOOK_PATH,
	freshPath,
	hookUrl,
	receivedAt,
	scriptResponses,
	statsOf,
	waitForAllForwarded,
} from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { consume, countedDuring, jobFor, storedEvents } from "../helpers/forward";
import { ledgerStub } from "../helpers/ledger";

/*
 * How much one consumer invocation has in flight. Local workerd does not hold back a 7th
 * connection as Cloudflare does, so these measure the relay's own bounds, at the sink.
 */

function webhookIds(requests: Array<{ headers: Record<string, string> }>): string[] {
	return requests.map((request) => request.headers["webhook-id"] ?? "").sort();
}

it("delivers a batch of 25 to an endpoint answering in 3.5 s on the first try, 6 at a time, none aborted", async () => {
	const events = await storedEvents(25);
	const path = freshPath();
	await scriptResponses(
		path,
		events.map(() => ({ status: 204, delayMs: 3500 })),
	);
	// The batch takes 5 rounds of 3.5 s: past a 5 s timeout unless each starts with its own POST.
	const {
		result: { result, retries, ids },
		counted,
	} = await countedDuring(() =>
		consume(
			events.map((event) => ({ body: jobFor(event) })),
			{ FORWARD_URL: hookUrl(path), FORWARD_TIMEOUT_MS: "5000" },
		),
	);
	expect(retries).toEqual([]);
	expect(result.explicitAcks.sort()).toEqual([...ids].sort());
	expect(counted).toEqual({ delivered: 25, skipped: 0 });
	expect(webhookIds(await receivedAt(path))).toEqual(events.map((event) => event.id).sort());
	expect(await statsOf(path)).toMatchObject({ requests: 25, peakInFlight: ATTEMPTS_IN_FLIGHT, aborted: 0 });
});

it("delivers 25 events of 1.5 MB read from their ledgers once each, within the byte budget", async () => {
	// 740,000 characters of text: the CloudEvent holds it twice (data.text and the original element).
	const elements = Array.from({ length: 25 }, () =>
		element("spec2026__message-received_sms.object.json", { message: { text: "x".repeat(740_000) } }),
	);
	const ids = await Promise.all(
		elements.map((e) => eventIdOf({ type: e.type, messageId: e.message.id, to: e.to, time: e.time })),
	);
	// The real queue forwards them to the shared /hook first; its record, read by every test, keeps no bodies.
	for (const id of ids) await scriptResponses(DEFAULT_HOOK_PATH, [{ status: 204, recordBody: false }], id);
	const responses = await Promise.all(elements.map((e) => postCallback([e])));
	for (const response of responses) expect(await response.json()).toMatchObject({ stored: 1 });
	await waitForAllForwarded(ids, DEFAULT_HOOK_PATH, 30_000);

	const path = freshPath();
	await scriptResponses(
		path,
		ids.map(() => ({ status: 204, delayMs: 300 })),
	);
	const jobs = elements.map((e, i) => ({ body: { eventId: ids[i], messageId: e.message.id } }));
	const { result, retries } = await consume(jobs, { FORWARD_URL: hookUrl(path) });
	expect(retries).toEqual([]);
	expect(result.explicitAcks).toHaveLength(25);

	const requests = await receivedAt(path);
	expect(webhookIds(requests)).toEqual([...ids].sort());
	for (const [i, e] of elements.entries()) {
		const stored = await ledgerStub(e.message.id).body(e.message.id, ids[i]!);
		const body = requests.find((request) => request.headers["webhook-id"] === ids[i])?.body;
		expect(stored?.length).toBeGreaterThan(1_450_000);
		expect(body === stored, `${ids[i]} forwarded byte for byte`).toBe(true);
	}
	const stats = await statsOf(path);
	expect(stats.aborted).toBe(0);
	expect(stats.peakBytesInFlight).toBeLessThanOrEqual(BODY_BYTES_IN_FLIGHT);
	// Six of these are 8.9 MB: the byte budget, not the connection limit, held them back, and not to one.
	expect(stats.peakInFlight).toBeLessThan(ATTEMPTS_IN_FLIGHT);
	expect(stats.peakInFlight).toBeGreaterThanOrEqual(3);
}, 60_000);
