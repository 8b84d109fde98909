import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Insights } from "../../src/insights/insights.repository";
import { readInsightMarks, recordInsights } from "../../src/insights/record-insights";
import { maintainLedgers } from "../../src/maintenance/maintain-ledgers";
import { runMaintenance } from "../../src/maintenance/run-maintenance";
import { adminFetch, adminGet, adminPost } from "../helpers/admin";
import { withTableRenamed } from "../helpers/storage";
import {
	type Expected,
	expectedOf,
	iso,
	messageIdAt,
	nearestRank,
	type PlannedMessage,
	plannedMix,
	postMessages,
	seeded,
	statusElement,
} from "./support/traffic";

/*
 * The insights end to end: real callbacks into real ledgers, the cron's count into D1, and
 * GET /v1/insights, against counts this file works out on its own (support/traffic.ts). Each test
 * has its own application id, so what other tests store is never in its figures.
 */

const HOUR = 3_600_000;

function world(numbers = 3) {
	return {
		applicationId: crypto.randomUUID(),
		numbers: Array.from({ length: numbers }, (_, i) =>
			`+1919555${String(Math.floor(Math.random() * 9000) + 1000)}${i}`.slice(0, 12),
		),
		now: Date.now(),
	};
}

async function insightsOf(applicationId: string, extra = ""): Promise<Insights> {
	const since = iso(Date.now() - 60 * HOUR);
	const until = iso(Date.now() + HOUR);
	return adminGet<Insights>(`/v1/insights?applicationId=${applicationId}&since=${since}&until=${until}${extra}`);
}

/** The latency the sketch reports is within 12.2 % of the exact value, plus rounding (src/insights/latency-sketch.ts). */
function expectNear(reported: number | null, exact: number): void {
	expect(reported).not.toBeNull();
	expect(Math.abs((reported ?? 0) - exact)).toBeLessThanOrEqual(exact < 250 ? 125 : 0.1225 * exact + 0.5);
}

function expectTotals(insights: Insights, expected: Expected): void {
	const { totals } = insights;
	expect({
		sent: totals.sent,
		delivered: totals.delivered,
		failed: totals.failed,
		receivedSms: totals.receivedSms,
		receivedMms: totals.receivedMms,
		received: totals.received,
	}).toEqual({
		sent: expected.sent,
		delivered: expected.delivered,
		failed: expected.failed,
		receivedSms: expected.receivedSms,
		receivedMms: expected.receivedMms,
		received: expected.receivedSms + expected.receivedMms,
	});
	expect(totals.deliveryRate).toBeCloseTo(expected.delivered / (expected.delivered + expected.failed), 10);
	expect(new Map(totals.errorCodes.map((code) => [code.code, code.count]))).toEqual(expected.errors);
	expect(totals.latencyMs.deliveries).toBe(expected.latencies.length);
	expectNear(totals.latencyMs.p50, nearestRank(expected.latencies, 0.5));
	expectNear(totals.latencyMs.p95, nearestRank(expected.latencies, 0.95));
}

describe("deliverability insights", () => {
	it("counts a seeded mix exactly once: duplicates, concurrent copies, out-of-order and late receipts, group messages", async () => {
		const w = world();
		const messages = plannedMix(seeded(20_261_201), w);
		const expected = expectedOf(messages);
		// The mix has what it claims to have.
		expect(messages.some((m) => m.callbacks.some((c) => c.concurrent))).toBe(true);
		expect(messages.some((m) => m.callbacks.some((c) => c.repeat))).toBe(true);
		expect(expected.failed).toBeGreaterThan(5);
		expect(expected.receivedMms).toBeGreaterThan(0);
		expect(Math.max(...expected.latencies)).toBeGreaterThan(49 * HOUR);

		await postMessages(messages);
		await runMaintenance(env, Date.now());
		const insights = await insightsOf(w.applicationId);
		expectTotals(insights, expected);

		// Each failure's code comes with its name, Bandwidth's description and what to do.
		const spam = insights.totals.errorCodes.find((code) => code.code === 4470);
		expect(spam).toMatchObject({ name: "rejected-spam-detected", category: "bandwidth-client" });
		expect(spam?.remediation).toMatch(/spam/);
		expect(insights.totals.errorCodes.find((code) => code.code === 4775)?.remediation).toMatch(/opted out/);

		// By the hour the messages were sent in: the late receipts are in their hour, 50 h back.
		const byHour = new Map(
			insights.series.filter((point) => point.sent + point.received > 0).map((point) => [point.start, point]),
		);
		expect(
			new Map(
				[...byHour].map(([start, p]) => [
					start,
					{ sent: p.sent, delivered: p.delivered, failed: p.failed, received: p.received },
				]),
			),
		).toEqual(new Map([...expected.byHour].filter(([, h]) => h.sent + h.received > 0)));
		expect([...byHour.keys()].some((start) => Date.parse(start) < Date.now() - 49 * HOUR)).toBe(true);

		// Per number, most failures first; and filtered to one number.
		const worst = [...expected.byNumber].sort(([, a], [, b]) => b.failed - a.failed)[0];
		expect(insights.numbers[0]).toMatchObject({ owner: worst?.[0], failed: worst?.[1].failed });
		for (const [number, counts] of expected.byNumber) {
			const one = await insightsOf(w.applicationId, `&owner=${encodeURIComponent(number)}`);
			expect({ sent: one.totals.sent, delivered: one.totals.delivered, failed: one.totals.failed }).toEqual(counts);
		}

		// Bandwidth retrying every callback, and replays of a few messages, count nothing more.
		await postMessages(messages);
		for (const message of messages.slice(0, 3)) {
			expect((await adminPost("/v1/replay", { messageId: message.id })).status).toBe(200);
		}
		await runMaintenance(env, Date.now());
		expectTotals(await insightsOf(w.applicationId), expected);
	});

	it("by day: one point a day, the same totals", async () => {
		const w = world(1);
		const messages = plannedMix(seeded(7), w);
		await postMessages(messages);
		await runMaintenance(env, Date.now());
		const since = iso(Date.now() - 5 * 24 * HOUR);
		const daily = await adminGet<Insights>(
			`/v1/insights?applicationId=${w.applicationId}&granularity=day&since=${since}`,
		);
		expect(daily.series.length).toBeGreaterThanOrEqual(5);
		expect(daily.series.every((point) => point.start.endsWith("T00:00:00.000Z"))).toBe(true);
		expectTotals(daily, expectedOf(messages));
	});

	it("a count D1 refuses is written once, a minute later; nothing is lost meanwhile", async () => {
		const w = world(1);
		const messages = plannedMix(seeded(11), w).slice(0, 20);
		await postMessages(messages);
		await withTableRenamed("insight_errors", () => runMaintenance(env, Date.now()));
		const refused = await insightsOf(w.applicationId);
		expect(refused.totals.sent + refused.totals.received).toBe(0);
		await runMaintenance(env, Date.now());
		expectTotals(await insightsOf(w.applicationId), expectedOf(messages));
	});

	it("a count written twice (a retried batch, an overlapping run) counts once", async () => {
		const w = world(1);
		const messages = plannedMix(seeded(12), w).slice(0, 20);
		await postMessages(messages);
		const marks = await readInsightMarks(env.DB);
		const { reports } = await maintainLedgers(env, Date.now(), marks);
		expect(await recordInsights(env.DB, marks, reports, Date.now())).toMatchObject({ written: true });
		// The same batch again, as a run that died before it knew it had landed would retry it.
		expect(await recordInsights(env.DB, marks, reports, Date.now())).toMatchObject({ written: false });
		await runMaintenance(env, Date.now());
		await runMaintenance(env, Date.now());
		expectTotals(await insightsOf(w.applicationId), expectedOf(messages));
	});

	it("counts what arrives between two counts in the next one", async () => {
		const w = world(1);
		const time = Date.now() - 10 * 60_000;
		const shape = {
			id: messageIdAt(time),
			applicationId: w.applicationId,
			from: w.numbers[0]!,
			to: ["+16465550001"],
			time,
			media: false,
		};
		const one: PlannedMessage = {
			id: shape.id,
			callbacks: [
				{
					element: statusElement(shape, "message-sending", "+16465550001", time + 500),
					repeat: false,
					concurrent: false,
				},
			],
		};
		await postMessages([one]);
		await runMaintenance(env, Date.now());
		expect((await insightsOf(w.applicationId)).totals).toMatchObject({ sent: 1, delivered: 0 });
		const receipt = {
			...one,
			callbacks: [
				{ ...one.callbacks[0]!, element: statusElement(shape, "message-delivered", "+16465550001", time + 4500) },
			],
		};
		await postMessages([receipt]);
		await runMaintenance(env, Date.now());
		const after = await insightsOf(w.applicationId);
		expect(after.totals).toMatchObject({ sent: 1, delivered: 1, deliveryRate: 1 });
		expectNear(after.totals.latencyMs.p50, 4000);
	});

	it("answers 400 for a bad window or parameter, naming it", async () => {
		for (const [query, name] of [
			["since=2026-12-01T00:00:00Z&until=2026-11-01T00:00:00Z", "since"],
			["since=2026-01-01T00:00:00Z&until=2026-12-01T00:00:00Z", "since"],
			["granularity=week", "granularity"],
			["since=yesterday", "since"],
			["applicationid=x", "applicationid"],
		] as const) {
			const response = await adminFetch(`/v1/insights?${query}`);
			expect(response.status, query).toBe(400);
			const body = await response.json<{ error: { code: string; message: string } }>();
			expect(body.error.code).toBe("invalid_parameter");
			expect(body.error.message.startsWith(name), body.error.message).toBe(true);
		}
		expect((await adminFetch("/v1/insights", { token: null })).status).toBe(401);
	});
});
