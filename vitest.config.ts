import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_ENV } from "./test/setup/test-env.ts";
import { APP_A as SIM_APP_A } from "./test/sim/harness/app-ids.ts";

/*
 * Three projects:
 * - workers: unit and integration tests inside workerd, with real D1, Durable Objects and Queues
 *   from wrangler.toml (miniflare underneath) and a real HTTP server as the downstream.
 * - sim: the seeded fault simulation (test/sim), inside workerd too, with its own sink.
 * - e2e: Node-side tests that run the relay as users do (`wrangler dev`) and drive it over HTTP.
 */
export default defineConfig(async () => {
	const migrations = await readD1Migrations("./migrations");
	return {
		test: {
			// Vitest's default is one file at a time on a 2-core machine (cores − 1). Most files wait on
			// timers, queues, child processes and real-time probes rather than compute, so three at once:
			// 412 s for `npm test` on an idle 2-core machine, against 584 s at two (2026-12-07). Every
			// project has the same limit: a project of its own (fileParallelism: false) would run after
			// the others.
			maxWorkers: 3,
			projects: [
				{
					plugins: [
						cloudflareTest(({ inject }) => ({
							wrangler: { configPath: "./wrangler.toml" },
							miniflare: {
								bindings: {
									...TEST_ENV,
									FORWARD_URL: `http://127.0.0.1:${inject<number>("downstreamPort")}/hook`,
									ALERT_URL: `http://127.0.0.1:${inject<number>("downstreamPort")}/alerts`,
									// The downstream server also stands in for Bandwidth's media host and token endpoint.
									BANDWIDTH_MEDIA_HOSTS: `127.0.0.1:${inject<number>("downstreamPort")}`,
									BANDWIDTH_TOKEN_URL: `http://127.0.0.1:${inject<number>("downstreamPort")}/api/v1/oauth2/token`,
									TEST_MIGRATIONS: migrations,
								},
								// A real limiter small enough to exhaust in a test (wrangler.toml's allows 6,000 a minute).
								ratelimits: {
									TEST_TIGHT_RATE_LIMITER: { namespace_id: "9001", simple: { limit: 3, period: 60 } },
								},
								// Deliver queued jobs promptly in tests instead of after wrangler.toml's 1 s.
								queueConsumers: {
									"bandwidth-relay-forward": { maxBatchTimeout: 0.05 },
									"bandwidth-relay-forward-dlq": { maxBatchTimeout: 0.05 },
								},
							},
						})),
					],
					test: {
						name: "workers",
						// Tests wait for real background work (queues, alarms); see test/helpers/wait.ts.
						testTimeout: 60_000,
						include: ["test/**/*.test.ts"],
						exclude: ["test/e2e/**", "test/sim/**"],
						globalSetup: ["./test/setup/downstream.global.ts"],
						setupFiles: ["./test/setup/apply-migrations.ts"],
					},
				},
				{
					plugins: [
						cloudflareTest(({ inject }) => {
							const sink = `http://127.0.0.1:${inject<number>("simSinkPort")}`;
							return {
								wrangler: { configPath: "./wrangler.toml" },
								miniflare: {
									bindings: {
										...TEST_ENV,
										FORWARD_URL: "",
										// Three destinations that overlap, as test/sim/harness/invariants.ts routes them.
										DESTINATIONS: JSON.stringify([
											{ name: "all", url: `${sink}/d/all` },
											{ name: "inbound", url: `${sink}/d/inbound`, directions: ["inbound"] },
											{
												name: "app-a",
												url: `${sink}/d/app-a`,
												applicationIds: [SIM_APP_A],
												types: ["bandwidth.message.delivered", "bandwidth.message.failed"],
												maxPerSecond: 50,
											},
										]),
										ALERT_URL: `${sink}/alerts`,
										BANDWIDTH_MEDIA_HOSTS: `127.0.0.1:${inject<number>("simSinkPort")}`,
										BANDWIDTH_TOKEN_URL: `${sink}/api/v1/oauth2/token`,
										// Small enough that a run fills it: the budget must evict (test/sim/harness/run-seed.ts).
										D1_BUDGET_MB: "1",
										// Few buckets: more messages share a ledger (more contention to test), and the cron's
										// visit of every bucket stays cheap enough to run often.
										LEDGER_BUCKETS: "8",
										// Longer than the longest late receipt (73 h), so quarantine is still there to check after the workload.
										RETENTION_DAYS: "5",
										FORWARD_TIMEOUT_MS: "1000",
										MEDIA_FORWARD_DELAY_MS: "300",
										TEST_MIGRATIONS: migrations,
									},
									queueConsumers: {
										"bandwidth-relay-forward": { maxBatchTimeout: 0.02 },
										"bandwidth-relay-forward-dlq": { maxBatchTimeout: 0.02 },
									},
								},
							};
						}),
					],
					test: {
						name: "sim",
						include: ["test/sim/**/*.test.ts"],
						testTimeout: 300_000,
						globalSetup: ["./test/sim/support/sim.global.ts"],
					},
				},
				{
					test: {
						name: "e2e",
						environment: "node",
						include: ["test/e2e/**/*.test.ts"],
						testTimeout: 120_000,
						hookTimeout: 120_000,
						// Each file starts its own `wrangler dev` on its own port ranges (test/e2e/support/ports.ts),
						// so these files run beside each other and beside the workerd files, three at a time in all.
					},
				},
			],
		},
	};
});
