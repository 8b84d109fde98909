import { runDurableObjectAlarm } from "cloudflare:test";
import { expect, it, vi } from "vitest";
import type { AlertEvent } from "../../src/alerts/alert-message";
import { BREAKER_FAILURES } from "../../src/destinations/gate-policy";
import { adminFetch } from "../helpers/admin";
import {
	acceptRouted,
	destinationsAt,
	freshName,
	gateOf,
	gateQueue,
	jobsOf,
	parkedRows,
	probeNow,
	recordingQueue,
} from "../helpers/destinations";
import { receivedAt, scriptResponses } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { consume } from "../helpers/forward";
import { deliveriesOf } from "../helpers/storage";
import { BACKGROUND_WAIT_MS } from "../helpers/wait";

async function alertsFor(name: string): Promise<AlertEvent[]> {
	return (await receivedAt("/alerts"))
		.map((request) => JSON.parse(request.body) as AlertEvent)
		.filter((event) => event.subject === name);
}

async function routed(DESTINATIONS: string, count: number) {
	const elements = Array.from({ length: count }, () => element("spec2026__message-delivered_sms.object.json"));
	return acceptRouted(DESTINATIONS, elements);
}

it("opens the breaker of a destination that keeps failing, parks its events without using their attempts, probes, closes and sends them all back, while another keeps delivering", async () => {
	const [down, up] = [freshName("down"), freshName("up")];
	const { DESTINATIONS, paths } = destinationsAt([{ name: down }, { name: up }]);
	const downPath = paths[down] as string;
	const upPath = paths[up] as string;
	const vars = { DESTINATIONS, FORWARD_URL: "" } as Record<string, string>;
	const released = await gateQueue(down, vars);
	await scriptResponses(
		downPath,
		Array.from({ length: BREAKER_FAILURES + 2 }, () => ({ status: 503 })),
	);

	// 12 events to both: the healthy one takes all 12; the failing one fails 12 times in a row.
	const first = await routed(DESTINATIONS, BREAKER_FAILURES + 2);
	const firstRun = await consume(
		jobsOf(first).map((body) => ({ body })),
		vars,
	);
	expect(firstRun.retries).toHaveLength(BREAKER_FAILURES + 2);
	expect(await receivedAt(upPath)).toHaveLength(BREAKER_FAILURES + 2);
	expect(await gateOf(down).status()).toMatchObject({ breaker: "open", consecutiveFailures: BREAKER_FAILURES + 2 });
	expect(await gateOf(up).status()).toMatchObject({ breaker: "closed", consecutiveFailures: 0 });

	// While open: the healthy destination takes the next 12 at once; the failing one's are parked in
	// its gate (one row for the batch) and acked, nothing goes back on the queue, nothing reaches it.
	const second = await routed(DESTINATIONS, BREAKER_FAILURES + 2);
	const { queue, sent } = recordingQueue();
	const secondRun = await consume(
		jobsOf(second).map((body) => ({ body })),
		{ ...vars, FORWARD_QUEUE: queue } as unknown as Record<string, string>,
	);
	expect(secondRun.retries).toEqual([]);
	expect(secondRun.result.explicitAcks).toHaveLength(2 * (BREAKER_FAILURES + 2));
	expect(sent).toEqual([]);
	expect(await receivedAt(upPath)).toHaveLength(2 * (BREAKER_FAILURES + 2));
	expect(await receivedAt(downPath)).toHaveLength(BREAKER_FAILURES + 2);
	expect(await parkedRows(down)).toEqual({ rows: 1, jobs: BREAKER_FAILURES + 2 });
	expect((await gateOf(down).status()).backlog).toBe(BREAKER_FAILURES + 2);
	for (const row of second) expect(await deliveriesOf(row.id)).toEqual([]);
	// The first probe is 30 s away: nothing goes back meanwhile.
	expect(released.sent).toEqual([]);

	// "Probe now": the gate sends one parked job back, as the probe, with its attempt count as it was.
	expect((await gateOf(down).probe()).changed).toBe(true);
	await vi.waitUntil(() => released.sent.length === 1, { timeout: BACKGROUND_WAIT_MS, interval: 20 });
	expect(released.sent[0]?.body).toMatchObject({ destination: down, priorAttempts: 0 });
	expect(released.sent[0]?.delaySeconds).toBeUndefined();

	// The endpoint is back: the probe goes, succeeds and closes the breaker; the gate sends the rest
	// back at once, and they all go.
	await consume([{ body: released.sent[0]?.body }], vars);
	expect(await receivedAt(downPath)).toHaveLength(BREAKER_FAILURES + 3);
	expect(await gateOf(down).status()).toMatchObject({ breaker: "closed", consecutiveFailures: 0 });
	await vi.waitUntil(() => released.sent.length === BREAKER_FAILURES + 2, {
		timeout: BACKGROUND_WAIT_MS,
		interval: 20,
	});
	await consume(
		released.sent.slice(1).map(({ body }) => ({ body })),
		vars,
	);
	const downIds = (await receivedAt(downPath)).map((request) => request.headers["webhook-id"]);
	expect(new Set(downIds.slice(BREAKER_FAILURES + 2))).toEqual(new Set(second.map((row) => row.id)));
	expect(downIds).toHaveLength(2 * (BREAKER_FAILURES + 2));
	expect((await gateOf(down).status()).backlog).toBe(0);
	expect(await parkedRows(down)).toEqual({ rows: 0, jobs: 0 });
	// None of the parked events spent an attempt: each was delivered on its first.
	for (const row of second) expect(await deliveriesOf(row.id)).toEqual([]);

	// One alert per change, never one per event.
	const alerts = await vi.waitUntil(
		async () => {
			const found = await alertsFor(down);
			return found.length >= 3 ? found : undefined;
		},
		{ timeout: BACKGROUND_WAIT_MS, interval: 50 },
	);
	expect(alerts.map((alert) => alert.type).sort()).toEqual([
		"relay.destination.failing",
		"relay.destination.paused",
		"relay.destination.recovered",
	]);
	expect(alerts.find((alert) => alert.type === "relay.destination.paused")?.data).toMatchObject({
		destination: down,
		cause: "breaker",
		lastError: expect.stringContaining("HTTP 503"),
	});
	expect(await alertsFor(up)).toEqual([]);
	await released.restore();
});

it("probes an open breaker when its backoff ends, by its own alarm, with nothing arriving", async () => {
	const name = freshName("quiet");
	const { DESTINATIONS, paths } = destinationsAt([{ name }]);
	const vars = { DESTINATIONS, FORWARD_URL: "" } as Record<string, string>;
	const released = await gateQueue(name, vars);
	await scriptResponses(
		paths[name] as string,
		Array.from({ length: BREAKER_FAILURES }, () => ({ status: 503 })),
	);
	await consume(
		jobsOf(await routed(DESTINATIONS, BREAKER_FAILURES)).map((body) => ({ body })),
		vars,
	);
	expect((await gateOf(name).status()).breaker).toBe("open");
	const held = await routed(DESTINATIONS, 3);
	await consume(
		jobsOf(held).map((body) => ({ body })),
		vars,
	);
	expect(await parkedRows(name)).toEqual({ rows: 1, jobs: 3 });
	// Its backoff ends: the alarm, not an arriving event, sends one back as the probe.
	await probeNow(name);
	expect(await runDurableObjectAlarm(gateOf(name))).toBe(true);
	expect(released.sent.map(({ body }) => body.eventId)).toEqual([held[0]?.id]);
	expect((await gateOf(name).status()).backlog).toBe(2);
	await released.restore();
});

it("answers 409 to a probe of a closed breaker, and the destination to one of an open breaker", async () => {
	expect((await gateOf(freshName("fine")).probe()).changed).toBe(false);
	const closed = await adminFetch("/v1/destinations/default/probe", { method: "POST" });
	expect(closed.status).toBe(409);
	expect(await closed.json()).toMatchObject({ error: { code: "breaker_closed" } });
	expect((await adminFetch("/v1/destinations/default/probe")).status).toBe(405);
	expect((await adminFetch("/v1/destinations/nope/probe", { method: "POST" })).status).toBe(404);
});
