import { expect, it, vi } from "vitest";
import type { AlertEvent } from "../../src/alerts/alert-message";
import { BREAKER_FAILURES } from "../../src/destinations/gate-policy";
import {
	acceptRouted,
	destinationsAt,
	freshName,
	gateOf,
	jobsOf,
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

it("opens the breaker of a destination that keeps failing, holds its events without using their attempts, probes, closes and drains, while another keeps delivering", async () => {
	const [down, up] = [freshName("down"), freshName("up")];
	const { DESTINATIONS, paths } = destinationsAt([{ name: down }, { name: up }]);
	const downPath = paths[down] as string;
	const upPath = paths[up] as string;
	const vars = { DESTINATIONS, FORWARD_URL: "" } as Record<string, string>;
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

	// While open: the healthy destination takes the next 12 at once; the failing one's are held,
	// acked and queued again with their attempt count unchanged, and nothing reaches it.
	const second = await routed(DESTINATIONS, BREAKER_FAILURES + 2);
	const { queue, sent } = recordingQueue();
	const secondRun = await consume(
		jobsOf(second).map((body) => ({ body })),
		{ ...vars, FORWARD_QUEUE: queue } as unknown as Record<string, string>,
	);
	expect(secondRun.retries).toEqual([]);
	expect(secondRun.result.explicitAcks).toHaveLength(2 * (BREAKER_FAILURES + 2));
	expect(await receivedAt(upPath)).toHaveLength(2 * (BREAKER_FAILURES + 2));
	expect(await receivedAt(downPath)).toHaveLength(BREAKER_FAILURES + 2);
	expect(sent.map(({ body }) => body.destination)).toEqual(Array(BREAKER_FAILURES + 2).fill(down));
	expect(sent.every(({ body }) => body.priorAttempts === 0)).toBe(true);
	// The first probe waits 30 s (src/destinations/gate-policy.ts), spread by up to 20 %.
	for (const { delaySeconds } of sent) expect(delaySeconds).toBeGreaterThanOrEqual(1);
	expect((await gateOf(down).status()).backlog).toBe(BREAKER_FAILURES + 2);
	for (const row of second) expect(await deliveriesOf(row.id)).toEqual([]);

	// The backoff has passed and the endpoint is back: one probe goes, succeeds and closes the
	// breaker; the rest, held once more behind the probe, then all go.
	await probeNow(down);
	const held = sent.map(({ body }) => ({ body }));
	const probeQueue = recordingQueue();
	await consume(held, { ...vars, FORWARD_QUEUE: probeQueue.queue } as unknown as Record<string, string>);
	expect(await receivedAt(downPath)).toHaveLength(BREAKER_FAILURES + 3);
	expect(probeQueue.sent).toHaveLength(BREAKER_FAILURES + 1);
	expect(await gateOf(down).status()).toMatchObject({ breaker: "closed", consecutiveFailures: 0 });
	await consume(
		probeQueue.sent.map(({ body }) => ({ body })),
		vars,
	);
	const downIds = (await receivedAt(downPath)).map((request) => request.headers["webhook-id"]);
	expect(new Set(downIds.slice(BREAKER_FAILURES + 2))).toEqual(new Set(second.map((row) => row.id)));
	expect((await gateOf(down).status()).backlog).toBe(0);

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
});
