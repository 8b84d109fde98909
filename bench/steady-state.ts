import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { MeterCounts } from "../src/meter/meter.ts";
import { acceptedTemplates } from "./accepted-templates.ts";
import {
	type AllInResult,
	allInAt,
	cronPerMonth,
	DEFAULT_LIFE_SETTINGS,
	type Lifecycle,
	type LifeSettings,
} from "./all-in.ts";
import { type ChallengedLoadResult, runChallengedLoad } from "./challenged-load.ts";
import type { BenchConfig } from "./config.ts";
import { waitForIdle } from "./cpu.ts";
import { runCron } from "./cron.ts";
import {
	BASELINE_SHIFT_DAYS,
	type LifecycleCounts,
	lifecycleOf,
	lifecycleSchedule,
	type PlannedRun,
	type RunKind,
	scaled,
	shifted,
} from "./lifecycle.ts";
import { readMeter, resetMeter } from "./meter-client.ts";
import { loadTemplates, payloadGenerator, type Template } from "./payloads.ts";
import type { DevServer } from "./processes.ts";
import { type ArchiveHolding, archiveHolds, countInD1, d1SizeBytes, eventsInD1 } from "./relay-admin.ts";
import { freshSecrets, startWorkers } from "./setup.ts";
import type { Sink } from "./sink.ts";
import { durableObjectBytes, r2BucketBytes } from "./state-sizes.ts";
import { sleep } from "./stats.ts";
import { type Target, targetsFor, WORKER_NAMES } from "./targets.ts";

/*
 * The all-in steady-state cost (BENCHMARKS.md, "All-in steady state"), in its own wrangler dev so
 * nothing else is in its meters or its state:
 *
 * 1. Warm-up: every ledger bucket and today's tables exist, as under steady traffic.
 * 2. Load: Bandwidth's shape, one event per callback from the documented samples, each callback
 *    first sent without credentials (challenged-load.ts), to the relay and then the floor. Metered
 *    until every event reached the sink and D1, and the ledgers' handoff checks a minute later ran.
 * 3. The simulated days (lifecycle.ts): the cron at chosen times, then the same schedule once
 *    everything is gone; the difference is the events' share. The relay runs with D1_BUDGET_MB=1,
 *    so its byte budget evicts all but the last ~1 MB of events row by row while their quarter's
 *    table is still running (a table it may not drop whole: as the default 8,000 MB does where it
 *    holds less than a quarter day's traffic), and the budget's and retention's whole-table drops
 *    take the rest (and the first tries' tables, and the floor's days): both ways out measured,
 *    which bench/all-in.ts shares out by rate.
 * 4. The cron's own cost: a minute's run and an hour's first run once everything is gone.
 */

const HOUR_MS = 3_600_000;
/** A ledger looks for its handoffs in D1 this long after accepting them (src/ledger/handoffs.ts: grace + slack). */
const HANDOFF_CHECK_AFTER_MS = 65_000;
/**
 * The smallest budget D1_BUDGET_MB takes. D1 holds ~50 KB without events and ~0.9 KB an event, so
 * every event past the first ~1,000 is evicted by the budget, row by row in key order, at the first
 * run that may (the code the default 8,000 MB runs at 100 events/s: bench/all-in.ts prices it
 * so), and the rest leave by retention's DROP TABLE: both ways out measured in one run. A load
 * too small to pass the budget measures no eviction (AllInResult.leavingMeasured).
 */
const RELAY_D1_BUDGET_MB = "1";
const RATES = [1, 10, 100, 1000] as const;

export interface SteadyStateSettings {
	/** Callbacks of the measured load, per worker. */
	callbacks: number;
	warmupCallbacks: number;
	concurrency: number;
	/** The rate the headline prices the cron's fixed cost and D1's hold at. */
	rate: number;
}

export function steadyStateSettings(config: BenchConfig): SteadyStateSettings {
	const number = (name: string, fallback: number) => {
		const value = Number(process.env[name] ?? fallback);
		if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
		return value;
	};
	return {
		// Quick: enough that D1 passes RELAY_D1_BUDGET_MB and the budget evicts a few hundred.
		callbacks: Math.round(number("BENCH_STEADY_CALLBACKS", config.quick ? 1000 : 4000)),
		warmupCallbacks: Math.round(number("BENCH_STEADY_WARMUP", config.quick ? 200 : 640)),
		concurrency: Math.round(number("BENCH_STEADY_CONCURRENCY", 16)),
		rate: number("BENCH_STEADY_RATE", 100),
	};
}

export interface Held {
	/** D1's size as D1 reports it (the relay's). */
	d1Bytes: number;
	d1Events: { relay: number; floor: number };
	/** Pages in use in the ledger buckets, the relay's and the floor's. */
	ledgerBytes: number;
	floorLedgerBytes: number;
	/** What the archive holds (all of it, from wrangler's state). */
	archiveObjects: number;
	archiveBytes: number;
	/** The archive's objects for the days the events were received, through GET /v1/archive. */
	archived: ArchiveHolding;
}

export interface SimulatedRun {
	label: string;
	kind: RunKind | "idle";
	at: string;
	relay: MeterCounts;
	floor: MeterCounts;
	/** What was held after the run. */
	held: Held;
}

export interface WorkerAllIn {
	/** Events the worker accepted in this runtime (the simulated days' denominator). */
	events: number;
	/** Events of the measured load (the first pass's denominator). */
	loadEvents: number;
	firstPass: MeterCounts;
	/** What the ledgers gave back when they forgot the events' day, per event. */
	ledgerBytesPerEvent: number;
	lifecycle: Lifecycle & { unassigned: MeterCounts };
	cronPerMonth: MeterCounts;
	atRate: AllInResult;
	byRate: AllInResult[];
}

export interface SteadyStateResult {
	settings: SteadyStateSettings;
	life: LifeSettings;
	relayVars: Record<string, string>;
	load: Record<"relay" | "floor", Omit<ChallengedLoadResult, "acks" | "failures"> & { failures: number }>;
	checks: {
		forwardedOnce: boolean;
		relayDelivered: number;
		relayForwardedTwice: number;
		floorDelivered: number;
		/** Of the load's events, how many D1 held once the load had drained. */
		inD1AfterLoad: number;
		/** The archive's events for the days of the load, once its hours were written; and every event the relay accepted. */
		archivedEvents: number;
		relayEvents: number;
	};
	/** What was held once the load had drained, before the first simulated run. */
	heldAfterLoad: Held;
	runs: SimulatedRun[];
	baselineRuns: SimulatedRun[];
	relay: WorkerAllIn;
	floor: WorkerAllIn;
	ratio: number;
}

const log = (message: string) => console.log(`[bench] steady state: ${message}`);

type Targets = ReturnType<typeof targetsFor>;

async function counts(target: Target): Promise<MeterCounts> {
	const reading = await readMeter(target);
	if (reading === null) throw new Error(`${target.id} has no meter`);
	return reading.counts;
}

async function resetBoth(targets: Targets): Promise<void> {
	await resetMeter(targets.relay);
	await resetMeter(targets.floor);
}

function dates(from: number, to: number): string[] {
	const days: string[] = [];
	for (let day = from - (from % 86_400_000); day <= to; day += 86_400_000)
		days.push(new Date(day).toISOString().slice(0, 10));
	return days;
}

interface Context {
	dev: DevServer;
	targets: Targets;
	persistTo: string;
	/** The UTC dates (YYYY-MM-DD) the events were received on: where the archive files them. */
	eventDates: string[];
}

async function heldNow(ctx: Context): Promise<Held> {
	const archive = r2BucketBytes(ctx.persistTo, "bandwidth-relay-archive");
	return {
		d1Bytes: await d1SizeBytes(ctx.targets.relay),
		d1Events: await eventsInD1(ctx.dev.entryUrl),
		ledgerBytes: durableObjectBytes(ctx.persistTo, "bandwidth-relay-MessageLedger").bytes,
		floorLedgerBytes: durableObjectBytes(ctx.persistTo, "bench-floor-FloorLedger").bytes,
		archiveObjects: archive.objects,
		archiveBytes: archive.bytes,
		archived: await archiveHolds(ctx.targets.relay, ctx.eventDates),
	};
}

async function simulate(
	ctx: Context,
	planned: ReadonlyArray<PlannedRun | (Omit<PlannedRun, "kind"> & { kind: "idle" })>,
): Promise<SimulatedRun[]> {
	const runs: SimulatedRun[] = [];
	for (const run of planned) {
		await resetBoth(ctx.targets);
		await runCron(ctx.dev.entryUrl, WORKER_NAMES.relay, run.at);
		await runCron(ctx.dev.entryUrl, WORKER_NAMES.floor, run.at);
		await waitForIdle(ctx.dev.workerdPids, { windowMs: 300 });
		const relay = await counts(ctx.targets.relay);
		const floor = await counts(ctx.targets.floor);
		runs.push({
			label: run.label,
			kind: run.kind,
			at: new Date(run.at).toISOString(),
			relay,
			floor,
			held: await heldNow(ctx),
		});
	}
	return runs;
}

/** Runs the cron at `at` until the ledgers have caught up with it (a jump of days is walked ≤ 48 hours a run). */
async function catchUp(ctx: Context, at: number): Promise<void> {
	for (let attempt = 0; attempt < 40; attempt += 1) {
		await resetBoth(ctx.targets);
		await runCron(ctx.dev.entryUrl, WORKER_NAMES.relay, at);
		await runCron(ctx.dev.entryUrl, WORKER_NAMES.floor, at);
		await waitForIdle(ctx.dev.workerdPids, { windowMs: 300 });
		if ((await counts(ctx.targets.relay)).doRowsWritten === 0) return;
	}
	throw new Error(`the ledgers did not catch up with ${new Date(at).toISOString()}`);
}

async function loadBoth(
	targets: Targets,
	templates: readonly Template[],
	callbacks: number,
	concurrency: number,
	seed: number,
): Promise<Record<"relay" | "floor", ChallengedLoadResult>> {
	const run = (target: Target) =>
		runChallengedLoad({
			url: target.url,
			headers: target.headers,
			concurrency,
			callbacks,
			next: payloadGenerator(templates, { batchSize: 1, repeatRatio: 0, seed }),
		});
	const relay = await run(targets.relay);
	const floor = await run(targets.floor);
	for (const [id, result] of Object.entries({ relay, floor })) {
		if (result.failures.length > 0)
			throw new Error(`${id}: ${result.failures.length} callbacks failed, e.g. ${result.failures[0]}`);
	}
	return { relay, floor };
}

async function waitForSink(sink: Sink, relayEvents: number, floorEvents: number, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		const seen = await sink.counts();
		if (seen.relay.unique >= relayEvents && seen.floor.total >= floorEvents) return;
		await sleep(200);
	}
	throw new Error("the load's events did not all reach the sink");
}

function allInOf(
	loadEvents: number,
	firstPassCounts: MeterCounts,
	counts: LifecycleCounts,
	ledgerBytesPerEvent: number,
	cron: MeterCounts,
	rate: number,
	d1HoldDays: ((rate: number) => number) | null,
): WorkerAllIn {
	const firstPass = scaled(firstPassCounts, 1 / loadEvents);
	const lifecycle = lifecycleOf(counts);
	const input = (at: number) => ({
		firstPass,
		ledgerBytesPerEvent,
		lifecycle,
		cronPerMonth: cron,
		...(d1HoldDays === null ? {} : { d1HoldDays: d1HoldDays(at) }),
	});
	return {
		events: counts.events,
		loadEvents,
		firstPass,
		ledgerBytesPerEvent,
		lifecycle,
		cronPerMonth: cron,
		atRate: allInAt(rate, input(rate)),
		byRate: RATES.map((at) => allInAt(at, input(at))),
	};
}

export async function runSteadyState(config: BenchConfig, sink: Sink): Promise<SteadyStateResult> {
	const settings = steadyStateSettings(config);
	const life = DEFAULT_LIFE_SETTINGS;
	const relayVars = { D1_BUDGET_MB: RELAY_D1_BUDGET_MB };
	const dir = mkdtempSync(join(config.stateParent, "bandwidth-relay-steady-"));
	const secrets = freshSecrets();
	log(`starting wrangler dev (state in ${dir})`);
	const dev = await startWorkers(dir, secrets, sink.url("relay"), relayVars);
	let failed = true;
	try {
		const targets = targetsFor(dev.entryUrl, secrets);
		const startedAt = Date.now();
		const templates = await acceptedTemplates(targets.relay, loadTemplates());
		const ctx: Context = { dev, targets, persistTo: join(dir, "state"), eventDates: [] };

		log(`warm-up: ${settings.warmupCallbacks} callbacks each`);
		await sink.reset();
		const warm = await loadBoth(targets, templates, settings.warmupCallbacks, settings.concurrency, 500);
		await waitForSink(sink, warm.relay.events, warm.floor.events, config.drainTimeoutSeconds * 1000);
		await waitForIdle(dev.workerdPids, { timeoutMs: config.drainTimeoutSeconds * 1000 });

		await sink.reset();
		await resetBoth(targets);
		log(`load: ${settings.callbacks} callbacks each, each first without credentials`);
		const load = await loadBoth(targets, templates, settings.callbacks, settings.concurrency, 501);
		const lastAccept = Math.max(...[load.relay, load.floor].flatMap((result) => result.acks.map((ack) => ack.at)));
		const relayIds = load.relay.acks.flatMap((ack) => ack.events.map((event) => event.eventId));
		await waitForSink(sink, new Set(relayIds).size, load.floor.events, config.drainTimeoutSeconds * 1000);
		// The ledgers look for their handoffs in D1 a minute after accepting them: that is part of the first pass.
		await sleep(Math.max(0, lastAccept + HANDOFF_CHECK_AFTER_MS + 5000 - Date.now()));
		await waitForIdle(dev.workerdPids, { timeoutMs: config.drainTimeoutSeconds * 1000 });
		const firstPass = { relay: await counts(targets.relay), floor: await counts(targets.floor) };
		const seen = await sink.counts();
		const inD1AfterLoad = await countInD1(dev.entryUrl, relayIds);
		ctx.eventDates = dates(startedAt, lastAccept);
		const heldAfterLoad = await heldNow(ctx);
		log(
			`load: relay ${load.relay.events} events (${seen.relay.unique} delivered, ${seen.relay.total - seen.relay.unique} twice, ` +
				`${inD1AfterLoad} in D1), floor ${load.floor.events}`,
		);

		const schedule = lifecycleSchedule(startedAt, lastAccept, life);
		log(`${schedule.length} cron runs over ${life.archiveRetentionDays + 1} simulated days`);
		const runs = await simulate(ctx, schedule);
		const baseline = shifted(schedule, BASELINE_SHIFT_DAYS);
		await catchUp(ctx, baseline[0]!.at - 15 * 60_000);
		log("the same schedule again, everything gone");
		const baselineRuns = await simulate(ctx, baseline);
		const idleAt = baseline.at(-1)!.at + 2 * 86_400_000;
		const probeHour = idleAt - (idleAt % HOUR_MS) + 5 * 60_000;
		await catchUp(ctx, probeHour);
		const [minuteRun, hourRun] = await simulate(ctx, [
			{ label: "a minute's run", kind: "idle", at: probeHour + 60_000 },
			{ label: "an hour's first run", kind: "idle", at: probeHour + HOUR_MS },
		]);

		const archived = runs.reduce(
			(most, run) => (run.held.archived.events > most.events ? run.held.archived : most),
			heldAfterLoad.archived,
		);
		const relayEvents = templates.length + warm.relay.events + load.relay.events;
		const floorEvents = warm.floor.events + load.floor.events;
		const pairs = (worker: "relay" | "floor") =>
			runs.map((run, index) => ({
				kind: run.kind as RunKind,
				withEvents: run[worker],
				baseline: baselineRuns[index]![worker],
				d1EventsBefore: (index === 0 ? heldAfterLoad : runs[index - 1]!.held).d1Events[worker],
				d1EventsAfter: run.held.d1Events[worker],
			}));
		// Every bucket forgets each day the events were filed under (one, or two across midnight).
		const bucketDays = life.buckets * ctx.eventDates.length;
		// What the ledgers held just before the first forget run (the run before it, or the load's
		// end) less what they held after the last: every page the forget runs gave back, the first's
		// included (its "before DEDUPE_DAYS" run should give back nothing, but is not assumed to).
		const firstForget = runs.findIndex((run) => run.kind === "forget");
		const lastForget = runs.findLastIndex((run) => run.kind === "forget");
		if (firstForget === -1) throw new Error("the schedule has no forget run");
		const heldBeforeForget = firstForget === 0 ? heldAfterLoad : runs[firstForget - 1]!.held;
		const gaveBack = (pick: (held: Held) => number) => pick(heldBeforeForget) - pick(runs[lastForget]!.held);
		const relay = allInOf(
			load.relay.eventsSent,
			firstPass.relay,
			{
				events: relayEvents,
				pairs: pairs("relay"),
				archive: { bucketHours: archived.bucketHours, events: archived.events, ndjsonBytes: archived.ndjsonBytes },
				bucketDays,
			},
			gaveBack((held) => held.ledgerBytes) / relayEvents,
			cronPerMonth(minuteRun!.relay, hourRun!.relay),
			settings.rate,
			null,
		);
		const floor = allInOf(
			load.floor.eventsSent,
			firstPass.floor,
			{ events: floorEvents, pairs: pairs("floor"), archive: null, bucketDays },
			gaveBack((held) => held.floorLedgerBytes) / floorEvents,
			// The floor's cron has nothing to do more often than once an hour.
			cronPerMonth(minuteRun!.floor, minuteRun!.floor, 1),
			settings.rate,
			// The same history as the relay's D1 at that rate.
			(at) => relay.byRate.find((result) => result.rate === at)?.d1HoldDays ?? relay.atRate.d1HoldDays,
		);
		const result: SteadyStateResult = {
			settings,
			life,
			relayVars,
			load: { relay: summaryOf(load.relay), floor: summaryOf(load.floor) },
			checks: {
				forwardedOnce: seen.relay.total === seen.relay.unique && seen.floor.total === load.floor.events,
				relayDelivered: seen.relay.unique,
				relayForwardedTwice: seen.relay.total - seen.relay.unique,
				floorDelivered: seen.floor.total,
				inD1AfterLoad,
				archivedEvents: archived.events,
				relayEvents,
			},
			heldAfterLoad,
			runs,
			baselineRuns: [...baselineRuns, minuteRun!, hourRun!],
			relay,
			floor,
			ratio: relay.atRate.usdPerMillionEvents / floor.atRate.usdPerMillionEvents,
		};
		if (!relay.atRate.leavingMeasured)
			log(
				`WARNING: D1's way out at ${settings.rate} ev/s was not measured (${relay.lifecycle.evictedEvents} evicted, ` +
					`${relay.lifecycle.droppedEvents} dropped): "leaving D1" lacks its rows written`,
			);
		log(
			`all-in at ${settings.rate} ev/s: relay $${relay.atRate.usdPerMillionEvents.toFixed(2)}, floor ` +
				`$${floor.atRate.usdPerMillionEvents.toFixed(2)} per million events (${result.ratio.toFixed(2)}×)`,
		);
		failed = false;
		return result;
	} finally {
		await dev.stop();
		if (failed || process.env.BENCH_KEEP === "1") log(`kept ${dir}`);
		else rmSync(dir, { recursive: true, force: true });
	}
}

function summaryOf(result: ChallengedLoadResult) {
	const { acks: _, failures, ...rest } = result;
	return { ...rest, failures: failures.length };
}
