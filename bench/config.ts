import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";

/*
 * Everything a run can vary, from the environment. `npm run bench` uses the defaults;
 * `npm run bench:quick` (BENCH_QUICK=1) is a smoke run that leaves BENCHMARKS.md alone.
 */

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const WORKERS_DIR = fileURLToPath(new URL("./workers/", import.meta.url));

/** Ports reserved for the bench (28700–28799, inspector 29700–29799). */
export const DEV_PORT = 28701;
export const INSPECTOR_PORT = 29701;

export interface BenchConfig {
	quick: boolean;
	/** Seconds of load per worker per scenario round. */
	durationSeconds: number;
	/** Seconds of saturating load per worker before measuring (JIT, caches, simulators). */
	warmupSeconds: number;
	/** Rounds per scenario; the workers take turns within each round. */
	rounds: number;
	/** Concurrency of the saturating scenarios. */
	connections: number;
	/** Events pushed through the relay in the end-to-end check. */
	e2eEvents: number;
	/** Events per phase of the fan-out measure (one destination, then three). */
	fanOutEvents: number;
	/** Longest wait for a round's events to reach the sink. */
	drainTimeoutSeconds: number;
	sinkPort: number;
	/**
	 * Parent of the run's private wrangler state. tmpfs by default: on ext4, creating each new
	 * ledger's SQLite files (kernel inode allocation) costs more CPU than everything else a new
	 * message costs, which is a property of the disk, not of the relay.
	 */
	stateParent: string;
	/** Where results.json goes; BENCHMARKS.md is only rewritten by full runs. */
	resultsPath: string;
	benchmarksPath: string | null;
}

function numberFromEnv(name: string, fallback: number): number {
	const raw = process.env[name];
	if (raw === undefined || raw === "") return fallback;
	const value = Number(raw);
	if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
	return value;
}

/** The floor's consumer posts to SINK_URL from its wrangler config; the sink listens there. */
function sinkPortFromFloorConfig(): number {
	const toml = readFileSync(new URL("./workers/floor.toml", import.meta.url), "utf8");
	const match = /^SINK_URL\s*=\s*"http:\/\/127\.0\.0\.1:(\d+)\/floor"/m.exec(toml);
	if (!match) throw new Error('bench/workers/floor.toml must set SINK_URL = "http://127.0.0.1:<port>/floor"');
	return Number(match[1]);
}

export function readBenchConfig(): BenchConfig {
	const quick = process.env.BENCH_QUICK === "1";
	return {
		quick,
		durationSeconds: numberFromEnv("BENCH_DURATION", quick ? 2 : 5),
		warmupSeconds: numberFromEnv("BENCH_WARMUP", quick ? 2 : 5),
		rounds: Math.round(numberFromEnv("BENCH_ROUNDS", quick ? 1 : 3)),
		connections: Math.round(numberFromEnv("BENCH_CONNECTIONS", 32)),
		e2eEvents: Math.round(numberFromEnv("BENCH_E2E_EVENTS", quick ? 500 : 5000)),
		fanOutEvents: Math.round(numberFromEnv("BENCH_FAN_OUT_EVENTS", quick ? 300 : 2000)),
		drainTimeoutSeconds: numberFromEnv("BENCH_DRAIN_TIMEOUT", 120),
		sinkPort: sinkPortFromFloorConfig(),
		stateParent: process.env.BENCH_STATE_DIR || (existsSync("/dev/shm") ? "/dev/shm" : tmpdir()),
		resultsPath: fileURLToPath(new URL(quick ? "./out/results.quick.json" : "./results.json", import.meta.url)),
		benchmarksPath: quick ? null : fileURLToPath(new URL("../BENCHMARKS.md", import.meta.url)),
	};
}
