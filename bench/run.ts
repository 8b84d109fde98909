import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { acceptedTemplates } from "./accepted-templates.ts";
import { readBenchConfig } from "./config.ts";
import { costOf } from "./cost.ts";
import { waitForIdle } from "./cpu.ts";
import { measureDrainLag } from "./drain-lag.ts";
import { runEndToEnd } from "./end-to-end.ts";
import { describeEnvironment } from "./environment.ts";
import { runFanOut } from "./fan-out.ts";
import { runLoad } from "./load.ts";
import { nodeMemoryFor1MiB, workerdMemoryFor1MiB } from "./memory.ts";
import { runMicro } from "./micro.ts";
import { loadTemplates, payloadGenerator } from "./payloads.ts";
import type { DevServer } from "./processes.ts";
import { type BenchResults, drainLagSummary, PRICES_USED, renderMarkdown, writeResults } from "./report.ts";
import { measureRun, type RunContext, type RunMeasurement, scenarios } from "./scenarios.ts";
import { freshSecrets, startWorkers } from "./setup.ts";
import { type Sink, startSink } from "./sink.ts";
import { loadRelayInternals } from "./src-bundle.ts";
import { runSteadyState } from "./steady-state.ts";
import { checkAllInTargets, checkTargets, type ScenarioSummary, summarize } from "./summarize.ts";
import { type Target, targetsFor, WORKER_IDS, type WorkerId } from "./targets.ts";

/*
 * `npm run bench`: bare Worker, job floor and relay in one workerd, the scenarios of issue 5 in
 * alternating rounds, then drain lag, end to end, micro-benchmarks and memory; then the all-in
 * steady state (issue 18) in a wrangler dev of its own (bench/steady-state.ts). Writes
 * bench/results.json and the results block of BENCHMARKS.md.
 */

const log = (message: string) => console.log(`[bench] ${message}`);

function commandLine(quick: boolean): string {
	const overrides = Object.entries(process.env)
		.filter(([name]) => name.startsWith("BENCH_") && name !== "BENCH_QUICK")
		.map(([name, value]) => `${name}=${value}`);
	return [...overrides, quick ? "npm run bench:quick" : "npm run bench"].join(" ");
}

async function warmUp(ctx: RunContext, targets: Record<WorkerId, Target>): Promise<void> {
	for (const id of WORKER_IDS) {
		const target = targets[id];
		const next = payloadGenerator(ctx.templates, { batchSize: 1, repeatRatio: 0, seed: 1000 });
		await runLoad({
			url: target.url,
			headers: target.headers,
			connections: ctx.config.connections,
			durationSeconds: ctx.config.warmupSeconds,
			next,
		});
	}
	await waitForIdle(ctx.dev.workerdPids, { timeoutMs: ctx.config.drainTimeoutSeconds * 1000 });
}

function costNote(run: RunMeasurement): string {
	const cost = costOf([run]);
	return cost === null ? "" : `, $${cost.usdPerMillionEvents.toFixed(2)}/M ev`;
}

async function runScenarios(ctx: RunContext, targets: Record<WorkerId, Target>) {
	const summaries: ScenarioSummary[] = [];
	const runs: RunMeasurement[] = [];
	let floorSaturatingRps: number | null = null;
	for (const scenario of scenarios(ctx.config)) {
		const rate = scenario.halfFloorRate && floorSaturatingRps !== null ? floorSaturatingRps / 2 : undefined;
		const scenarioRuns: RunMeasurement[] = [];
		for (let round = 0; round < ctx.config.rounds; round += 1) {
			// Each round starts with a different worker, so none always runs right after another.
			const order = WORKER_IDS.map((_, i) => WORKER_IDS[(i + round) % WORKER_IDS.length]!);
			for (const id of order) {
				const run = await measureRun(ctx, targets[id], scenario, round, rate);
				log(
					`${scenario.id} round ${round + 1} ${id}: ${run.requestsPerSecond.toFixed(0)} req/s, ` +
						`${run.eventsPerSecond.toFixed(0)} ev/s, p50 ${run.p50Ms.toFixed(1)} ms, p99 ${run.p99Ms.toFixed(1)} ms, ` +
						`${run.cpuPer1kWithDrain.toFixed(2)} CPU s/1k ev${costNote(run)}${run.non2xx + run.errors > 0 ? `, ${run.non2xx} non-2xx, ${run.errors} errors` : ""}${run.drained ? "" : ", DRAIN TIMED OUT"}`,
				);
				scenarioRuns.push(run);
			}
		}
		const summary = summarize(scenario, scenarioRuns, rate ?? null);
		if (scenario.id === "saturating") floorSaturatingRps = summary.workers.floor.requestsPerSecond;
		summaries.push(summary);
		runs.push(...scenarioRuns);
	}
	if (floorSaturatingRps === null) throw new Error("the saturating scenario did not run");
	return { summaries, runs, halfRate: floorSaturatingRps / 2 };
}

async function main(): Promise<void> {
	const config = readBenchConfig();
	log(
		`${commandLine(config.quick)}: ${config.rounds} rounds × ${config.durationSeconds} s, ${config.connections} connections`,
	);
	const allTemplates = loadTemplates();

	const internals = await loadRelayInternals();
	const micro = await runMicro(internals, allTemplates);
	log(`micro: validate + normalize ${micro.validateNormalizeUs.toFixed(1)} µs/event`);
	const nodeMemory = await nodeMemoryFor1MiB(internals, allTemplates);

	const dir = mkdtempSync(join(config.stateParent, "bandwidth-relay-bench-"));
	let sink: Sink | null = null;
	let dev: DevServer | null = null;
	let failed = true;
	let keep = false;
	const cleanUp = async () => {
		await dev?.stop();
		await sink?.close();
		dev = null;
		sink = null;
	};
	process.once("SIGINT", () => {
		void cleanUp().then(() => process.exit(130));
	});
	try {
		sink = await startSink(config.sinkPort);
		const secrets = freshSecrets();
		log(`starting wrangler dev (state and logs in ${dir})`);
		dev = await startWorkers(dir, secrets, sink.url("relay"));
		const targets = targetsFor(dev.entryUrl, secrets);
		const templates = await acceptedTemplates(targets.relay, allTemplates);
		log(`runtime at ${dev.entryUrl}; ${templates.length}/${allTemplates.length} fixture elements accepted`);
		const ctx: RunContext = { dev, sink, templates, config };
		await warmUp(ctx, targets);

		const { summaries, runs, halfRate } = await runScenarios(ctx, targets);
		log("drain lag");
		const drainLag = await measureDrainLag(ctx, targets.relay, halfRate);
		log("end to end");
		const endToEnd = await runEndToEnd(ctx, targets.relay, config.e2eEvents, secrets.signingSecret);
		log("fan-out");
		const fanOut = await runFanOut(ctx, targets.relay, templates, config.fanOutEvents);
		log(
			`fan-out: ${fanOut.fanOut.deliveredEventsPerSecond.toFixed(0)} events/s to 3 destinations vs ${fanOut.single.deliveredEventsPerSecond.toFixed(0)} to 1`,
		);
		log("memory");
		const workerdMemory = await workerdMemoryFor1MiB(ctx, targets.relay);
		const environment = describeEnvironment(dev.runtimePid, dir);

		// Its own runtime and state, so nothing above is in its meters; the sink stays (same port).
		await dev.stop();
		dev = null;
		log("all-in steady state");
		const steadyState = await runSteadyState(config, sink);

		const results: BenchResults = {
			environment,
			command: commandLine(config.quick),
			settings: {
				durationSeconds: config.durationSeconds,
				rounds: config.rounds,
				connections: config.connections,
				e2eEvents: config.e2eEvents,
			},
			templates: { used: templates.length, names: templates.map((t) => t.name) },
			scenarios: summaries,
			runs: runs.map(({ sinkLagMs: _, ...run }) => run),
			drainLag: drainLagSummary(drainLag),
			endToEnd,
			fanOut,
			micro,
			memory: { node: nodeMemory, workerd: workerdMemory },
			steadyState,
			targets: [...checkTargets(summaries, drainLag, micro), ...checkAllInTargets(steadyState)],
			prices: PRICES_USED,
		};
		writeResults(config, results);
		if (runs.some((run) => run.non2xx > 0)) {
			// A non-2xx under load is a finding, not noise: show the relay's own account of it and keep the state.
			keep = true;
			const errors = readFileSync(join(dir, "wrangler-dev.log"), "utf8")
				.split("\n")
				.filter((line) => line.includes('"level":"error"'));
			log(`relay error lines (${errors.length}):\n${errors.slice(0, 20).join("\n")}`);
		}
		console.log(renderMarkdown(results));
		log(`wrote ${config.resultsPath}${config.benchmarksPath === null ? "" : ` and ${config.benchmarksPath}`}`);
		failed = false;
	} finally {
		await cleanUp();
		if (failed || keep || process.env.BENCH_KEEP === "1") log(`kept ${dir}`);
		else rmSync(dir, { recursive: true, force: true });
	}
}

await main();
