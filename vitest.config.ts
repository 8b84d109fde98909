import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_ENV } from "./test/setup/test-env.ts";

export default defineConfig(async () => {
	const migrations = await readD1Migrations("./migrations");
	return {
		plugins: [
			cloudflareTest(({ inject }) => ({
				wrangler: { configPath: "./wrangler.toml" },
				miniflare: {
					bindings: {
						...TEST_ENV,
						FORWARD_URL: `http://127.0.0.1:${inject<number>("downstreamPort")}/hook`,
						TEST_MIGRATIONS: migrations,
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
			include: ["test/**/*.test.ts"],
			globalSetup: ["./test/setup/downstream.global.ts"],
			setupFiles: ["./test/setup/apply-migrations.ts"],
		},
	};
});
