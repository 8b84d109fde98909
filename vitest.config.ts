import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_ENV } from "./test/setup/test-env.ts";

/*
 * Two projects:
 * - workers: unit and integration tests inside workerd, with real D1, Durable Objects and Queues
 *   from wrangler.toml (miniflare underneath) and a real HTTP server as the downstream.
 * - e2e: Node-side tests that run the relay as users do (`wrangler dev`) and drive it over HTTP.
 */
export default defineConfig(async () => {
	const migrations = await readD1Migrations("./migrations");
	return {
		test: {
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
						exclude: ["test/e2e/**"],
						globalSetup: ["./test/setup/downstream.global.ts"],
						setupFiles: ["./test/setup/apply-migrations.ts"],
					},
				},
				{
					test: {
						name: "e2e",
						environment: "node",
						include: ["test/e2e/**/*.test.ts"],
						testTimeout: 120_000,
						hookTimeout: 120_000,
						// Each file starts its own `wrangler dev`; one at a time keeps ports and CPU predictable.
						fileParallelism: false,
					},
				},
			],
		},
	};
});
