import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRunning } from "../../../scripts/lib/process-group.ts";
import { eventTableOf, eventTableSchema } from "../../../src/db/event-tables.ts";
import type { RecordingSink } from "../support/recording-sink.ts";
import type { RelayProcess } from "../support/relay-process.ts";
import { executeLocalD1 } from "./support/local-d1.ts";
import { startRelayAndSink, stopRelayAndSink } from "./support/relay-and-sink.ts";
import {
	adminListAll,
	type CallbackAnswer,
	deliveredTwice,
	mapLimit,
	postCallback,
	type StoredEvent,
	sleep,
	waitUntil,
} from "./support/relay-api.ts";
import { type PlannedEvent, planTraffic } from "./support/traffic.ts";

const EVENTS = 40;
const SEED = 1;
const SETTLE_MS = 2500;
/** The current quarter's table, where the relay writes its events (and the next one's, if its start is near). */
function eventTables(): string[] {
	const tableAt = (time: number) => eventTableOf(new Date(time).toISOString());
	return [...new Set([tableAt(Date.now()), tableAt(Date.now() + 10 * 60_000)])];
}
/**
 * D1 refusing the relay: each event table swapped for one of the same name with none of its columns
 * (a missing table the relay would just create again), and `deliveries` out of reach, which /health
 * reads. The real tables wait under other names.
 */
function takeOffline(tables: readonly string[]): string {
	return [
		...tables.flatMap((name) => [
			`ALTER TABLE ${name} RENAME TO offline_${name}`,
			`CREATE TABLE ${name} (broken INTEGER)`,
		]),
		"ALTER TABLE deliveries RENAME TO offline_deliveries",
	].join("; ");
}
function bringBack(tables: readonly string[]): string {
	return [
		...tables.flatMap((name) => [`DROP TABLE ${name}`, `ALTER TABLE offline_${name} RENAME TO ${name}`]),
		"ALTER TABLE offline_deliveries RENAME TO deliveries",
	].join("; ");
}
/** What the ledger logs when its drain cannot write the events table. */
const DRAIN_FAILED = /"event":"ledger_drain_failed".*"target":"d1"/;

let relay: RelayProcess;
let sink: RecordingSink;
const lines: string[] = [];

beforeAll(async () => {
	({ relay, sink } = await startRelayAndSink("d1Outage", (sinkUrl) => ({
		vars: { FORWARD_URL: sinkUrl },
		onLine: (line) => lines.push(line),
	})));
});

afterAll(() => stopRelayAndSink({ relay, sink }));

async function health(): Promise<{ status: number; body: unknown }> {
	const response = await fetch(`${relay.url}/health`, { signal: AbortSignal.timeout(10_000) });
	return { status: response.status, body: await response.json() };
}

async function postEach(events: readonly PlannedEvent[]): Promise<CallbackAnswer[]> {
	return mapLimit(events, 8, (event) => postCallback(relay, [event.element]));
}

describe("D1 unavailable for a few seconds while the relay runs", () => {
	const [warmUp, ...plan] = planTraffic(EVENTS + 1, SEED) as [PlannedEvent, ...PlannedEvent[]];
	const expectedIds = new Set([warmUp, ...plan].map((event) => event.eventId));
	// Consecutive events share messages, so some ledgers take new events while their drain backs off.
	const firstHalf = plan.slice(0, EVENTS / 2);
	const secondHalf = plan.slice(EVENTS / 2);

	it("keeps answering 200 and forwarding while D1 refuses writes, then stores every event, none forwarded twice", async () => {
		expect((await postCallback(relay, [warmUp.element])).counts?.stored).toBe(1);
		await sink.waitForEvents(1, 20_000);

		// The warm-up created today's table; a second one near midnight is created for the swap.
		const tables = eventTables();
		await executeLocalD1(
			relay.persistTo,
			tables
				.map((name) =>
					eventTableSchema(name)
						.replaceAll(/--[^\n]*/g, "")
						.replaceAll(/\s+/g, " "),
				)
				.join("; "),
		);
		await executeLocalD1(relay.persistTo, takeOffline(tables));
		try {
			// The running relay sees the change: the outage is real, not just a renamed file elsewhere.
			expect(await health()).toEqual({
				status: 503,
				body: expect.objectContaining({ status: "degraded", d1: "unreachable" }),
			});

			const first = await postEach(firstHalf);
			await waitUntil(
				() => lines.some((line) => DRAIN_FAILED.test(line)),
				20_000,
				() => `no ledger_drain_failed line yet\n${relay.recentOutput()}`,
			);
			const second = await postEach(secondHalf);
			// Duplicates during the outage are recognized by the ledgers alone, without D1.
			const again = await postEach(plan);
			for (const [answers, name] of [
				[first, "first half"],
				[second, "second half"],
			] as const) {
				expect(
					answers.map((answer) => [answer.status, answer.counts?.stored]),
					name,
				).toEqual(answers.map(() => [200, 1]));
			}
			expect(again.map((answer) => [answer.status, answer.counts?.duplicates])).toEqual(plan.map(() => [200, 1]));

			// Forwarding does not wait for D1: every new event reaches the sink during the outage.
			// (Generous: the whole suite may be running beside this relay on two cores.)
			await sink.waitForEvents(EVENTS + 1, 120_000).catch((error: Error) => {
				throw new Error(`${error.message}\n--- relay output ---\n${relay.recentOutput()}`);
			});
			expect(new Set(sink.verifiedIds())).toEqual(expectedIds);
			const during = await adminListAll<StoredEvent>(relay, "/v1/events").catch(() => null);
			expect(during, "the admin API cannot read D1 either").toBeNull();
		} finally {
			await executeLocalD1(relay.persistTo, bringBack(tables));
		}
		expect((await health()).status).toBe(200);

		// The ledgers retry their D1 copies with backoff (1 s doubling); a few seconds of outage means
		// a retry within ~16 s. Nothing is sent again meanwhile.
		await waitUntil(
			async () => (await adminListAll<StoredEvent>(relay, "/v1/events")).length === EVENTS + 1,
			60_000,
			() => `D1 did not catch up\n${relay.recentOutput()}`,
		);
		await sleep(SETTLE_MS);
		expect(new Set(sink.verifiedIds())).toEqual(expectedIds);
		expect(deliveredTwice(sink.deliveries.map((delivery) => delivery.webhookId))).toEqual({});

		const stored = await adminListAll<StoredEvent>(relay, "/v1/events");
		expect(stored.length, "rows in D1 events").toBe(EVENTS + 1);
		expect(new Set(stored.map((event) => event.id))).toEqual(expectedIds);
		expect(isRunning(relay.pid)).toBe(true);
	}, 300_000);
});
