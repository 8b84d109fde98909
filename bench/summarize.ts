import { type CostSummary, costOf } from "./cost.ts";
import type { DrainLagResult } from "./drain-lag.ts";
import type { MicroResult } from "./micro.ts";
import type { RunMeasurement, Scenario, ScenarioId } from "./scenarios.ts";
import { median, percentile } from "./stats.ts";
import type { SteadyStateResult } from "./steady-state.ts";
import { d1RowsPerEvent } from "./steady-state-report.ts";
import { WORKER_IDS, type WorkerId } from "./targets.ts";

/** Rounds → one number per metric (the median), and the targets judged on them. */

export interface WorkerSummary {
	rounds: number;
	requestsPerSecond: number;
	eventsPerSecond: number;
	p50Ms: number;
	p99Ms: number;
	cpuPer1kDuringLoad: number;
	cpuPer1kWithDrain: number;
	deliveredEventsPerSecond: number | null;
	non2xx: number;
	errors: number;
	allDrained: boolean;
	/** Highest load from outside the bench during any round, in cores. */
	foreignCores: number;
	sinkLag: { p50Ms: number; p99Ms: number; count: number } | null;
	/** Billable units per event sent over all rounds, priced (null: not metered). */
	cost: CostSummary | null;
}

export interface ScenarioSummary {
	id: ScenarioId;
	title: string;
	overallRate: number | null;
	workers: Record<WorkerId, WorkerSummary>;
}

export const METRICS = [
	"requestsPerSecond",
	"eventsPerSecond",
	"p50Ms",
	"p99Ms",
	"cpuPer1kDuringLoad",
	"cpuPer1kWithDrain",
] as const;

function medianOf(runs: readonly RunMeasurement[], pick: (run: RunMeasurement) => number | null): number | null {
	const values = runs.map(pick).filter((value): value is number => value !== null && Number.isFinite(value));
	return values.length === 0 ? null : median(values);
}

function summarizeWorker(runs: readonly RunMeasurement[]): WorkerSummary {
	const lags = runs.flatMap((run) => run.sinkLagMs);
	const m = (pick: (run: RunMeasurement) => number) => medianOf(runs, pick) ?? Number.NaN;
	return {
		rounds: runs.length,
		requestsPerSecond: m((run) => run.requestsPerSecond),
		eventsPerSecond: m((run) => run.eventsPerSecond),
		p50Ms: m((run) => run.p50Ms),
		p99Ms: m((run) => run.p99Ms),
		cpuPer1kDuringLoad: m((run) => run.cpuPer1kDuringLoad),
		cpuPer1kWithDrain: m((run) => run.cpuPer1kWithDrain),
		deliveredEventsPerSecond: medianOf(runs, (run) => run.deliveredEventsPerSecond),
		non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
		errors: runs.reduce((sum, run) => sum + run.errors, 0),
		allDrained: runs.every((run) => run.drained),
		foreignCores: Math.max(...runs.map((run) => run.foreignCores)),
		sinkLag:
			lags.length === 0 ? null : { p50Ms: percentile(lags, 50), p99Ms: percentile(lags, 99), count: lags.length },
		cost: costOf(runs),
	};
}

export function summarize(
	scenario: Scenario,
	runs: readonly RunMeasurement[],
	overallRate: number | null,
): ScenarioSummary {
	const workers = Object.fromEntries(
		WORKER_IDS.map((id) => [id, summarizeWorker(runs.filter((run) => run.worker === id))]),
	) as Record<WorkerId, WorkerSummary>;
	return { id: scenario.id, title: scenario.title, overallRate, workers };
}

export interface TargetCheck {
	target: string;
	measured: string;
	pass: boolean;
}

function byId(summaries: readonly ScenarioSummary[], id: ScenarioId): ScenarioSummary {
	const found = summaries.find((summary) => summary.id === id);
	if (found === undefined) throw new Error(`no results for scenario ${id}`);
	return found;
}

const x = (value: number) => `${value.toFixed(2)}×`;
const ms = (value: number) => `${value.toFixed(1)} ms`;

export function checkTargets(
	summaries: readonly ScenarioSummary[],
	drainLag: DrainLagResult,
	micro: MicroResult,
): TargetCheck[] {
	const saturating = byId(summaries, "saturating").workers;
	const half = byId(summaries, "half-rate").workers;
	const batch100 = byId(summaries, "batch-100").workers;
	const rpsRatio = saturating.relay.requestsPerSecond / saturating.floor.requestsPerSecond;
	const epsRatio = batch100.relay.eventsPerSecond / batch100.floor.eventsPerSecond;
	const d1P99 = percentile(drainLag.d1LagMs, 99);
	const sinkP99 = percentile(drainLag.sinkLagMs, 99);
	return [
		{ target: "saturating req/s ≥ 0.9× the floor's", measured: x(rpsRatio), pass: rpsRatio >= 0.9 },
		{
			target: "half rate: p99 ack latency ≤ the floor's p99",
			measured: `${ms(half.relay.p99Ms)} vs ${ms(half.floor.p99Ms)}`,
			pass: half.relay.p99Ms <= half.floor.p99Ms,
		},
		{ target: "100-event batches: events/s ≥ 0.9× the floor's", measured: x(epsRatio), pass: epsRatio >= 0.9 },
		{
			target: "drain lag p99 < 1 s at half rate (2xx → D1 row)",
			measured: ms(d1P99),
			pass: d1P99 < 1000 && drainLag.missingInD1 === 0,
		},
		{ target: "drain lag p99 < 1 s at half rate (2xx → sink)", measured: ms(sinkP99), pass: sinkP99 < 1000 },
		{
			target: "validation + normalization ≤ 20 µs/event",
			measured: `${micro.validateNormalizeUs.toFixed(1)} µs`,
			pass: micro.validateNormalizeUs <= 20,
		},
	];
}

/** Issue 18's targets, judged on the steady-state scenario's all-in figures at its rate (default settings). */
export function checkAllInTargets(result: SteadyStateResult): TargetCheck[] {
	const { relay, floor } = result;
	const usd = relay.atRate.usdPerMillionEvents;
	const rows = d1RowsPerEvent(relay, relay.atRate);
	const rate = `${result.settings.rate} events/s`;
	// A figure whose way out of D1 went unmeasured is not a pass, whatever it adds up to.
	const measured = relay.atRate.leavingMeasured;
	const unmeasured = measured ? "" : " (D1's way out not measured)";
	return [
		{
			target: `all-in ≤ $5.00 per million events (steady state, ${rate})`,
			measured: `$${usd.toFixed(2)}${unmeasured}`,
			pass: measured && usd <= 5,
		},
		{
			target: "all-in ≤ 1.5× the fair job floor's, same run",
			measured: `${x(result.ratio)} ($${usd.toFixed(2)} vs $${floor.atRate.usdPerMillionEvents.toFixed(2)})${unmeasured}`,
			pass: measured && result.ratio <= 1.5,
		},
		{
			target: `D1 rows written ≤ 2 per event, insert and removal (${rate})`,
			measured: `${(rows.insert + rows.leave).toFixed(2)} (${rows.insert.toFixed(2)} + ${rows.leave.toFixed(2)})${unmeasured}`,
			pass: measured && rows.insert + rows.leave <= 2,
		},
	];
}
