import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { AlertDesk } from "../../src/alerts/alert-desk.do";
import { DestinationGate } from "../../src/destinations/destination-gate.do";
import { prepareElement } from "../../src/ingest/prepare-element";
import { storeInD1 } from "../../src/ledger/copy-out";
import { CHECK_SLACK_MS, HANDOFF_GRACE_MS } from "../../src/ledger/handoffs";
import { MessageLedger } from "../../src/ledger/message-ledger.do";
import { packBody } from "../../src/ledger/store/ledger-body";
import { COPIED, type LedgerEntry } from "../../src/ledger/store/ledger-rows";
import { MediaCopier } from "../../src/media/media-copier.do";
import { type MeterCounts, meter } from "../../src/meter/meter";
import { element } from "../helpers/fixtures";
import { mediaUrl } from "../helpers/media";

/*
 * Every Durable Object class, driven through its main operations on a fresh instance, with the
 * runtime's own SQL and alarm calls watched: the rows the cursors report and the alarms set must be
 * exactly what the cost meter counted, and the bytes the database grew by what it counted as
 * stored. A statement that runs around the meter (a plain ctx.storage.sql.exec), an unmetered
 * setAlarm, or a key-value call (whose rows the runtime does not report) fails here.
 */

type Watched = {
	rowsWritten: number;
	rowsRead: number;
	alarms: number;
	keyValueCalls: number;
	/** What the database grew by, summed over every growth the calls made (a shrink subtracts nothing). */
	grown: number;
	metered: MeterCounts;
};

/** Resolves once the meter has not moved for half a second (at most ten seconds). */
async function quietMeter(): Promise<void> {
	let last = JSON.stringify(meter.snapshot());
	let stillSince = Date.now();
	for (const started = Date.now(); Date.now() - started < 10_000 && Date.now() - stillSince < 500; ) {
		await new Promise((resolve) => setTimeout(resolve, 50));
		const now = JSON.stringify(meter.snapshot());
		if (now !== last) stillSince = Date.now();
		last = now;
	}
}

async function watch(state: DurableObjectState, work: () => Promise<unknown>): Promise<Watched> {
	const sql = state.storage.sql;
	const storage = state.storage;
	const cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
	const exec = sql.exec.bind(sql);
	const setAlarm = storage.setAlarm.bind(storage);
	const deleteAll = storage.deleteAll.bind(storage);
	let alarms = 0;
	let keyValueCalls = 0;
	let grown = 0;
	let size = sql.databaseSize;
	// Sampled before each statement (the one before has been read to its end) and around the calls
	// that change the file otherwise.
	const sample = () => {
		grown += Math.max(0, sql.databaseSize - size);
		size = sql.databaseSize;
	};
	const spies = [
		vi.spyOn(sql, "exec").mockImplementation((query: string, ...params: SqlStorageValue[]) => {
			sample();
			const cursor = exec(query, ...params);
			cursors.push(cursor);
			return cursor;
		}),
		vi.spyOn(storage, "setAlarm").mockImplementation(async (at, options) => {
			sample();
			alarms += 1;
			await setAlarm(at, options);
			sample();
		}),
		vi.spyOn(storage, "deleteAll").mockImplementation(async (options) => {
			sample();
			await deleteAll(options);
			sample();
		}),
		...(["get", "put", "delete", "list"] as const).map((method) => {
			const real = (storage[method] as (...args: unknown[]) => unknown).bind(storage);
			return vi.spyOn(storage, method).mockImplementation(((...args: unknown[]) => {
				keyValueCalls += 1;
				return real(...args);
			}) as never);
		}),
	];
	// The meter counts the whole isolate: work an earlier test left running (a queue batch reaching
	// the consumer, an alarm) would be counted against this object's rows. Start once it is quiet.
	await quietMeter();
	const before = meter.snapshot();
	try {
		await work();
	} finally {
		sample();
		for (const spy of spies) spy.mockRestore();
	}
	const after = meter.snapshot();
	return {
		rowsWritten: cursors.reduce((sum, cursor) => sum + cursor.rowsWritten, 0),
		rowsRead: cursors.reduce((sum, cursor) => sum + cursor.rowsRead, 0),
		alarms,
		keyValueCalls,
		grown,
		metered: Object.fromEntries(
			Object.entries(after).map(([unit, count]) => [unit, count - before[unit as keyof MeterCounts]]),
		) as MeterCounts,
	};
}

/** What the runtime saw is what the meter counted. */
function expectMetered(watched: Watched): void {
	expect(watched.rowsWritten, "rows written by SQL").toBeGreaterThan(0);
	expect(watched.metered.doRowsWritten).toBe(watched.rowsWritten + watched.alarms);
	expect(watched.metered.doRowsRead).toBe(watched.rowsRead);
	expect(watched.keyValueCalls, "key-value calls, whose rows nobody reports").toBe(0);
	expect(watched.grown).toBeGreaterThan(0);
	expect(watched.metered.doBytesStored).toBe(watched.grown);
}

function stubOf<T extends Rpc.DurableObjectBranded>(namespace: DurableObjectNamespace<T>, name: string) {
	return namespace.get(namespace.idFromName(name));
}

async function entryOf(sample: string): Promise<LedgerEntry> {
	const prepared = await prepareElement(element(sample), new Date().toISOString());
	if (prepared.kind !== "event") throw new Error(prepared.row.reason);
	const entry = { ...prepared.entry, destinations: ["default"] };
	return { ...entry, packed: await packBody(entry) };
}

describe("the cost meter sees every row a Durable Object writes", () => {
	it("MessageLedger: accept, a failed copy's report, the check in D1 after the grace, a quarantine row, read, erase, maintain, alarm", async () => {
		const entries = await Promise.all(
			[
				"spec2026__message-sending.object.json",
				"spec2026__message-delivered_sms.object.json",
				"spec2026__message-sent.object.json",
			].map(entryOf),
		);
		const watched = await runInDurableObject(
			stubOf(env.MESSAGE_LEDGER, "metered-ledger"),
			async (_instance: MessageLedger, state) =>
				watch(state, async () => {
					const ledger = new MessageLedger(state, env);
					const { handoff } = await ledger.accept(entries);
					const [stored, failed] = handoff!.rows;
					// The common path: the Worker queued and stored the first, and reports nothing.
					expect((await storeInD1(env.DB, [stored!])).error).toBeNull();
					// The only report: the second was queued, its D1 write failed.
					await ledger.settle([
						{ partition: failed!.partition, messageId: failed!.message_id, id: failed!.id, copied: COPIED.queue },
					]);
					await ledger.holdQuarantine([
						{ id: "qtn_metered", received_at: new Date().toISOString(), reason: "time: bad", raw_json: "{}" },
					]);
					await ledger.body(entries[0]!.message_id, entries[0]!.id);
					await ledger.erase(entries[2]!.message_id);
					// After the grace, the check finds the first in D1: the handoffs' lookups and watermark.
					const checked = await ledger.maintain(Date.now() + HANDOFF_GRACE_MS + CHECK_SLACK_MS + 1000);
					expect(checked.reclaimed).toBe(0);
					// Drains the second's D1 copy and the quarantine row.
					await ledger.alarm();
				}),
		);
		expectMetered(watched);
		expect(watched.alarms).toBeGreaterThan(0);
	});

	it("AlertDesk: its table, a raise, a send and its alarm", async () => {
		const watched = await runInDurableObject(
			stubOf(env.ALERT_DESK, "metered-desk"),
			async (_instance: AlertDesk, state) => {
				state.storage.sql.exec("DROP TABLE IF EXISTS pending");
				return watch(state, async () => {
					const desk = new AlertDesk(state, env);
					await desk.raise({
						type: "relay.event.dead",
						key: "default",
						count: 2,
						data: { destination: "default" },
						ids: ["evt_a"],
					});
					await desk.flush(Date.now() + 60 * 60_000);
					await desk.raise({ type: "relay.event.dead", key: "default", count: 1, data: { destination: "default" } });
					await desk.alarm();
				});
			},
		);
		expectMetered(watched);
		expect(watched.alarms).toBeGreaterThan(0);
	});

	it("DestinationGate: its tables, admissions, holds, reports, a pause's parked jobs found and released, a probe", async () => {
		const watched = await runInDurableObject(
			stubOf(env.DESTINATION_GATE, "metered-gate"),
			async (_instance: DestinationGate, state) => {
				for (const table of ["gate", "held", "parked"]) state.storage.sql.exec(`DROP TABLE IF EXISTS ${table}`);
				const watched = await watch(state, async () => {
					const gate = new DestinationGate(state, env);
					const admission = await gate.admit({
						ids: ["evt_1", "evt_2", "evt_3"],
						maxPerSecond: null,
						maxConcurrency: 1,
						leaseMs: 60_000,
					});
					await gate.report({ lease: admission.lease, delivered: 0, failed: 1, lastError: "HTTP 503" });
					await gate.setPaused(true);
					await gate.admit({ ids: ["evt_4"], maxPerSecond: null, maxConcurrency: null, leaseMs: 60_000 });
					// What the consumer does with a paused destination's jobs; its alarm sends them back.
					const jobs = [{ eventId: "evt_4", destination: "metered-gate" }];
					expect(await gate.park({ destination: "metered-gate", reason: "paused", jobs })).toEqual({ parked: 1 });
					expect(Object.keys((await gate.whereabouts(["evt_4"])).places)).toEqual(["evt_4"]);
					await gate.setPaused(false);
					await gate.alarm();
					expect((await gate.whereabouts(["evt_4"])).places).toEqual({});
					await gate.status();
					await gate.probe();
				});
				// Its alarm would run on the real instance during the next test, whose meter it would move.
				await state.storage.deleteAlarm();
				return watched;
			},
		);
		expectMetered(watched);
		expect(watched.alarms).toBeGreaterThan(0);
	});

	it("MediaCopier: a copy started, made by its alarm, read, and erased", async () => {
		const messageId = `${Date.now()}meteredmedia0001`;
		const watched = await runInDurableObject(
			stubOf(env.MEDIA_COPIER, messageId),
			async (_instance: MediaCopier, state) =>
				watch(state, async () => {
					const copier = new MediaCopier(state, env);
					const request = {
						messageId,
						eventTime: new Date().toISOString(),
						media: [mediaUrl(messageId, 0, "a.png")],
						origin: "https://relay.test",
					};
					// start() asks for an alarm now; the runtime would run it beside the calls below (on a
					// busy machine it did, before the deleteAlarm: six rows the test never saw written), so no
					// event reaches the object until the alarm is gone, and the test makes the copy itself, once.
					await state.blockConcurrencyWhile(async () => {
						await copier.start(request);
						await state.storage.deleteAlarm();
					});
					await copier.alarm();
					await copier.copies(request, 0);
					await copier.view();
					await copier.erase();
				}),
		);
		expectMetered(watched);
		expect(watched.alarms).toBeGreaterThan(0);
	});
});

describe("a MediaCopier written before its state moved to SQL", () => {
	it("reads the state it kept with put(), once, and from then on keeps it in its table", async () => {
		const messageId = `${Date.now()}legacymedia00001`;
		const state = {
			messageId,
			eventTime: Date.now(),
			startedAt: Date.now(),
			origin: null,
			items: [
				{
					index: 0,
					originalUrl: "https://x/0",
					status: "skipped",
					key: null,
					contentType: null,
					bytes: null,
					sha256: null,
					reason: "no credentials",
					attempts: 0,
					lastTriedAt: null,
				},
			],
		};
		const seen = await runInDurableObject(
			stubOf(env.MEDIA_COPIER, messageId),
			async (_instance: MediaCopier, storageState) => {
				await storageState.storage.put("state", state);
				const first = await new MediaCopier(storageState, env).view();
				const kvLeft = await storageState.storage.get("state");
				const again = await watch(storageState, () => new MediaCopier(storageState, env).view());
				return {
					first,
					kvLeft,
					keyValueCalls: again.keyValueCalls,
					second: await new MediaCopier(storageState, env).view(),
				};
			},
		);
		expect(seen.first).toEqual(state);
		expect(seen.second).toEqual(state);
		expect(seen.kvLeft).toBeUndefined();
		expect(seen.keyValueCalls).toBe(0);
	});
});
