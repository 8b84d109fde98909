import type { MeterCounts } from "../src/meter/meter.ts";
import type { BenchConfig } from "./config.ts";
import { cpuSeconds, machineBusySeconds, ownCpuSeconds, waitForIdle } from "./cpu.ts";
import { type LoadResult, runLoad } from "./load.ts";
import { readMeter, resetMeter } from "./meter-client.ts";
import { runPacedLoad } from "./paced-load.ts";
import { type Payload, payloadGenerator, type Template } from "./payloads.ts";
import type { DevServer } from "./processes.ts";
import type { Arrival, Sink } from "./sink.ts";
import { percentile, sleep } from "./stats.ts";
import type { Target, WorkerId } from "./targets.ts";

/*
 * The load scenarios of issue 5, and one measured run of one Worker under one of them: load,
 * then wait until its events reached the sink and the runtime is idle again, reading the
 * workerd processes' CPU time at the end of the load and after the drain, and the Worker's cost
 * meter (reset just before the load) once it has drained.
 */

export type ScenarioId = "saturating" | "half-rate" | "batch-10" | "batch-100" | "duplicates";

export interface Scenario {
	id: ScenarioId;
	title: string;
	batchSize: number;
	connections: number;
	repeatRatio: number;
	/** Paced at half the floor's saturating req/s instead of as fast as possible. */
	halfFloorRate: boolean;
}

/**
 * Batches keep about as many events in flight as the 1-event scenario (the runtime runs a
 * Worker's JavaScript on one thread, so more only queues): 32 connections of 1 event, 3 of 10,
 * 2 of 100. Every worker gets the same connections in a scenario.
 */
function connectionsFor(config: BenchConfig, batchSize: number): number {
	return Math.max(2, Math.round(config.connections / batchSize));
}

export function scenarios(config: BenchConfig): Scenario[] {
	const scenario = (id: ScenarioId, what: string, batchSize: number, repeatRatio = 0, halfFloorRate = false) => {
		const connections = connectionsFor(config, batchSize);
		const title = halfFloorRate ? what : `${what}, ${connections} connections`;
		return { id, title, batchSize, connections, repeatRatio, halfFloorRate };
	};
	return [
		scenario("saturating", "1 event/request", 1),
		scenario("half-rate", "1 event/request, paced at half the floor's saturating req/s", 1, 0, true),
		scenario("batch-10", "10 events/request", 10),
		scenario("batch-100", "100 events/request", 100),
		scenario("duplicates", "1 event/request, 30 % repeats", 1, 0.3),
	];
}

export interface RunContext {
	dev: DevServer;
	sink: Sink;
	templates: readonly Template[];
	config: BenchConfig;
}

export interface RunMeasurement {
	worker: WorkerId;
	scenario: ScenarioId;
	round: number;
	durationSeconds: number;
	ok: number;
	non2xx: number;
	errors: number;
	events: number;
	/** Events in every request sent, answered or not (LoadResult.eventsSent). */
	eventsSent: number;
	requestsPerSecond: number;
	eventsPerSecond: number;
	p50Ms: number;
	p99Ms: number;
	/** workerd CPU seconds per 1,000 acknowledged events: at the end of the load, and once drained. */
	cpuPer1kDuringLoad: number;
	cpuPer1kWithDrain: number;
	/** wrangler's Node process (it prints the Workers' log lines); not part of the ratios. */
	wranglerCpuSeconds: number;
	/** Cores used by processes outside this bench during the load: noise if well above 0. */
	foreignCores: number;
	/** Events acknowledged / seconds from the first request to the last arrival at the sink. */
	deliveredEventsPerSecond: number | null;
	drained: boolean;
	/** 2xx → sink, per event (first arrival), only for the latency scenario. */
	sinkLagMs: number[];
	/** The Worker's billable units from the start of the load until it had drained (null: bare). */
	meter: MeterCounts | null;
}

/** What must reach the sink: every acknowledged event for the floor, each distinct one for the relay. */
function expectedArrivals(target: Target, load: LoadResult): { total: number; unique: Set<string> } {
	const unique = new Set<string>();
	for (const ack of load.acks) for (const event of ack.events) unique.add(target.keyOf(event));
	return { total: load.events, unique };
}

/** Waits for the round's events at the sink; returns how many were expected, or null on timeout. */
async function waitForSink(ctx: RunContext, target: Target, load: LoadResult): Promise<number | null> {
	if (target.sink === null) return 0;
	const expected = expectedArrivals(target, load);
	const wanted = target.id === "floor" ? expected.total : expected.unique.size;
	const deadline = Date.now() + ctx.config.drainTimeoutSeconds * 1000;
	while (Date.now() < deadline) {
		const counts = (await ctx.sink.counts())[target.sink];
		if ((target.id === "floor" ? counts.total : counts.unique) >= wanted) return wanted;
		await sleep(100);
	}
	return null;
}

export function sinkLags(target: Target, load: LoadResult, arrivals: ReadonlyMap<string, Arrival>): number[] {
	const lags: number[] = [];
	for (const ack of load.acks) {
		if (ack.repeat) continue;
		for (const event of ack.events) {
			const arrival = arrivals.get(target.keyOf(event));
			if (arrival !== undefined) lags.push(arrival.first - ack.at);
		}
	}
	return lags;
}

export async function measureRun(
	ctx: RunContext,
	target: Target,
	scenario: Scenario,
	round: number,
	overallRate: number | undefined,
): Promise<RunMeasurement> {
	const pids = ctx.dev.workerdPids;
	await waitForIdle(pids);
	await ctx.sink.reset();
	await resetMeter(target);
	const next: () => Payload = payloadGenerator(ctx.templates, {
		batchSize: scenario.batchSize,
		repeatRatio: scenario.repeatRatio,
		seed: round + 1,
	});
	const cpuStart = cpuSeconds(pids);
	const wranglerStart = cpuSeconds([ctx.dev.wranglerPid]);
	const ownStart = ownCpuSeconds();
	const machineStart = machineBusySeconds();
	const { url, headers } = target;
	const durationSeconds = ctx.config.durationSeconds;
	const load =
		overallRate === undefined
			? await runLoad({ url, headers, connections: scenario.connections, durationSeconds, next })
			: await runPacedLoad({ url, headers, ratePerSecond: overallRate, durationSeconds, next });
	const cpuLoad = cpuSeconds(pids) - cpuStart;
	const wranglerLoad = cpuSeconds([ctx.dev.wranglerPid]) - wranglerStart;
	const foreign = machineBusySeconds() - machineStart - cpuLoad - wranglerLoad - (ownCpuSeconds() - ownStart);
	const delivered = await waitForSink(ctx, target, load);
	await waitForIdle(pids);
	const cpuTotal = cpuSeconds(pids) - cpuStart;
	const meter = await readMeter(target);

	const arrivals = target.sink === null ? new Map<string, Arrival>() : await ctx.sink.arrivals(target.sink);
	let lastArrival = 0;
	for (const arrival of arrivals.values()) lastArrival = Math.max(lastArrival, arrival.first);
	const seconds = (load.finishedAt - load.startedAt) / 1000;
	const per1k = (cpu: number) => (load.events === 0 ? Number.NaN : (cpu / load.events) * 1000);
	return {
		worker: target.id,
		scenario: scenario.id,
		round,
		durationSeconds: seconds,
		ok: load.ok,
		non2xx: load.non2xx,
		errors: load.errors + load.timeouts,
		events: load.events,
		eventsSent: load.eventsSent,
		requestsPerSecond: load.ok / seconds,
		eventsPerSecond: load.events / seconds,
		p50Ms: percentile(load.latenciesMs, 50),
		p99Ms: percentile(load.latenciesMs, 99),
		cpuPer1kDuringLoad: per1k(cpuLoad),
		cpuPer1kWithDrain: per1k(cpuTotal),
		wranglerCpuSeconds: cpuSeconds([ctx.dev.wranglerPid]) - wranglerStart,
		foreignCores: Math.max(0, foreign / seconds),
		deliveredEventsPerSecond:
			target.sink === null || delivered === null ? null : delivered / ((lastArrival - load.startedAt) / 1000),
		drained: delivered !== null,
		sinkLagMs: scenario.halfFloorRate ? sinkLags(target, load, arrivals) : [],
		meter: meter?.counts ?? null,
	};
}
