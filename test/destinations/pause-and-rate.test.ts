import { expect, it, vi } from "vitest";
import type { AlertEvent } from "../../src/alerts/alert-message";
import { SLOT_HORIZON_MS } from "../../src/destinations/gate-policy";
import { adminFetch } from "../helpers/admin";
import {
	acceptRouted,
	destinationsAt,
	freshName,
	gateOf,
	gateQueue,
	jobsOf,
	parkedRows,
	recordingQueue,
} from "../helpers/destinations";
import { freshPath, hookUrl, receivedAt, scriptResponses, statsOf } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { consume, jobFor, storedEvent } from "../helpers/forward";
import { BACKGROUND_WAIT_MS } from "../helpers/wait";

it("parks a paused destination's events in its gate and sends them back the moment it is resumed, telling the operator both", async () => {
	// Stored (and forwarded by the real queue) first: the pause holds back every default delivery.
	const event = await storedEvent();
	const startedAt = new Date().toISOString();
	const path = freshPath();
	const vars = { FORWARD_URL: hookUrl(path) };
	const released = await gateQueue("default", vars);
	const paused = await adminFetch("/v1/destinations/default/pause", { method: "POST" });
	expect(paused.status).toBe(200);
	expect(await paused.json()).toMatchObject({ name: "default", paused: true, pausedBy: "operator" });

	const { queue, sent } = recordingQueue();
	const held = await consume([{ body: { ...jobFor(event), destination: "default" } }], {
		...vars,
		FORWARD_QUEUE: queue,
	} as unknown as Record<string, string>);
	// Acked once its gate holds it; nothing goes back on the queue, nothing reaches the endpoint.
	expect(held.retries).toEqual([]);
	expect(held.result.explicitAcks).toHaveLength(1);
	expect(sent).toEqual([]);
	expect(await receivedAt(path)).toEqual([]);
	expect(await parkedRows("default")).toEqual({ rows: 1, jobs: 1 });

	const listed = await (await adminFetch("/v1/destinations")).json();
	expect(listed).toMatchObject({
		items: [{ name: "default", paused: true, backlog: 1, backlogSince: expect.any(String), breaker: "closed" }],
	});
	expect(released.sent).toEqual([]);

	const resumedAt = new Date().toISOString();
	const resumed = await adminFetch("/v1/destinations/default/resume", { method: "POST" });
	expect(await resumed.json()).toMatchObject({ paused: false });
	// Sent back at once, with no delay and its attempt count as it was.
	await vi.waitUntil(() => released.sent.length === 1, { timeout: BACKGROUND_WAIT_MS, interval: 20 });
	expect(released.sent).toEqual([
		{ body: expect.objectContaining({ eventId: event.id, priorAttempts: 0 }), delaySeconds: undefined },
	]);
	const { retries } = await consume(
		released.sent.map(({ body }) => ({ body })),
		vars,
	);
	expect(retries).toEqual([]);
	expect((await receivedAt(path)).map((request) => request.headers["webhook-id"])).toEqual([event.id]);
	expect((await gateOf("default").status()).backlog).toBe(0);
	await released.restore();

	const alerts = await vi.waitUntil(
		async () => {
			const found = (await receivedAt("/alerts"))
				.map((request) => JSON.parse(request.body) as AlertEvent)
				// /alerts is shared by every test file, and the OpenAPI test pauses "default" too.
				.filter((alert) => alert.subject === "default" && alert.type.startsWith("relay.destination."))
				.filter((alert) => alert.time >= startedAt);
			// Ours: the resume found the parked event (backlog 1); the OpenAPI test's finds none.
			const resumed = found.some((alert) => alert.type === "relay.destination.recovered" && alert.data.backlog === 1);
			return resumed ? found : undefined;
		},
		{ timeout: BACKGROUND_WAIT_MS, interval: 50 },
	);
	// Ours was sent between our pause and our resume: the OpenAPI test's would have to land in that
	// moment to stand in for it.
	const pausedMeanwhile = alerts.filter((alert) => alert.type === "relay.destination.paused" && alert.time < resumedAt);
	expect(pausedMeanwhile.map((alert) => [alert.data.cause, alert.data.backlog])).toContainEqual(["operator", 0]);
});

it("answers 404 for an unknown destination and 400 for a malformed name", async () => {
	expect((await adminFetch("/v1/destinations/nope/pause", { method: "POST" })).status).toBe(404);
	const bad = await adminFetch("/v1/destinations/Not%20A%20Name/pause", { method: "POST" });
	expect(bad.status).toBe(400);
	expect(await bad.json()).toMatchObject({ error: { code: "invalid_parameter" } });
	expect((await adminFetch("/v1/destinations/default/pause")).status).toBe(405);
});

it("lets 60 events reach a 20-per-second destination no faster than that, measured at the sink", async () => {
	const name = freshName("slow");
	const { DESTINATIONS, paths } = destinationsAt([{ name, maxPerSecond: 20 }]);
	const rows = await acceptRouted(
		DESTINATIONS,
		Array.from({ length: 60 }, () => element("spec2026__message-delivered_sms.object.json")),
	);
	const jobs = jobsOf(rows).map((body) => ({ body }));
	// Three invocations at once, as the queue would run them. The gate's first slot comes after this.
	const started = Date.now();
	const runs = await Promise.all(
		[0, 20, 40].map((start) =>
			consume(jobs.slice(start, start + 20), { DESTINATIONS, FORWARD_URL: "" } as Record<string, string>),
		),
	);
	for (const run of runs) expect(run.retries).toEqual([]);
	const times = (await receivedAt(paths[name])).map((request) => request.at).sort((a, b) => a - b);
	expect(times).toHaveLength(60);
	// No faster than 20 a second: the k-th arrival comes at least k × 50 ms after the start (25 ms
	// for the two clocks). A stall of the isolate or of the sink on a loaded machine only delays
	// sends, and with them arrivals, so this holds however busy the machine is; counting arrivals
	// per second did not (a stalled run of sends arriving together made 26 in a second, twice in
	// about twelve full runs). A limiter that let them through early fails it at once.
	const early = times.flatMap((at, k) => (at < started + k * 50 - 25 ? [{ k, afterStartMs: at - started }] : []));
	expect(early).toEqual([]);
});

it("holds the rest of a 2,000-event burst back for their slots, never letting through more than the limit", async () => {
	const name = freshName("burst");
	const gate = gateOf(name);
	const perSecond = 100;
	let admitted = 0;
	const slots: number[] = [];
	const holds: number[] = [];
	const started = Date.now();
	for (let batch = 0; batch < 80; batch++) {
		const ids = Array.from({ length: 25 }, (_, i) => `evt_${batch}_${i}`);
		const admission = await gate.admit({ ids, maxPerSecond: perSecond, maxConcurrency: null, leaseMs: 10_000 });
		admitted += admission.startsAt.length;
		slots.push(...admission.startsAt);
		for (const start of admission.startsAt) expect(start - Date.now()).toBeLessThanOrEqual(SLOT_HORIZON_MS);
		if (admission.startsAt.length < ids.length) {
			expect(admission.reason).toBe("rate");
			holds.push(admission.holdMs);
		}
	}
	const elapsedMs = Date.now() - started;
	// The slots handed out cover at most the horizon plus the time the burst took, at the limit.
	expect(admitted).toBeLessThanOrEqual(Math.ceil(((SLOT_HORIZON_MS + elapsedMs) / 1000) * perSecond) + 1);
	expect(admitted).toBeGreaterThanOrEqual((SLOT_HORIZON_MS / 1000) * perSecond);
	// What is held waits at least until the horizon's end, so it comes back for a later slot.
	expect(holds.length).toBeGreaterThan(0);
	for (const hold of holds) expect(hold).toBeGreaterThan(SLOT_HORIZON_MS);
	expect((await gate.status()).backlog).toBe(2000 - admitted);
	// Every slot the gate handed out, across all 80 calls, is 1/limit after the one before.
	const gaps = slots
		.sort((a, b) => a - b)
		.slice(1)
		.map((slot, i) => slot - (slots[i] as number));
	expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000 / perSecond - 1);
});

it("keeps a destination with maxConcurrency 2 at 2 POSTs in flight, holding the rest without an attempt", async () => {
	const name = freshName("narrow");
	const { DESTINATIONS, paths } = destinationsAt([{ name, maxConcurrency: 2 }]);
	const path = paths[name] as string;
	await scriptResponses(
		path,
		Array.from({ length: 10 }, () => ({ status: 204, delayMs: 300 })),
	);
	const rows = await acceptRouted(
		DESTINATIONS,
		Array.from({ length: 10 }, () => element("spec2026__message-delivered_sms.object.json")),
	);
	const vars = { DESTINATIONS, FORWARD_URL: "" };
	let pending = jobsOf(rows).map((body) => ({ body }));
	for (let round = 0; round < 5 && pending.length > 0; round++) {
		const { queue, sent } = recordingQueue();
		const { retries } = await consume(pending, { ...vars, FORWARD_QUEUE: queue } as unknown as Record<string, string>);
		expect(retries).toEqual([]);
		// Two go each round (the previous round's two reported back and freed their slots).
		expect(sent).toHaveLength(pending.length - 2);
		for (const held of sent) expect(held.body).toMatchObject({ priorAttempts: 0, destination: name });
		pending = sent.map(({ body }) => ({ body }));
	}
	expect(pending).toEqual([]);
	expect(await statsOf(path)).toMatchObject({ requests: 10, peakInFlight: 2 });
});

it("opens the breaker on a report that mixes a few successes with many failures, and keeps the last failure", async () => {
	const gate = gateOf(freshName("mostly-down"));
	const answer = await gate.report({ lease: null, delivered: 3, failed: 12, lastError: "HTTP 502: bad gateway" });
	expect(answer.transitions).toEqual(["failing", "opened"]);
	expect(await gate.status()).toMatchObject({
		breaker: "open",
		consecutiveFailures: 12,
		lastError: "HTTP 502: bad gateway",
		lastFailureAt: expect.any(String),
		lastSuccessAt: expect.any(String),
	});
});
