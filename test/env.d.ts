import type { D1Migration } from "cloudflare:test";

declare global {
	namespace Cloudflare {
		interface Env {
			TEST_MIGRATIONS: D1Migration[];
			/** vitest.config.ts: 3 requests a minute per key, to reach CALLBACK_RATE_LIMITER's limit in a test. */
			TEST_TIGHT_RATE_LIMITER: RateLimit;
		}
	}
}

declare module "vitest" {
	interface ProvidedContext {
		downstreamPort: number;
		/** The fault simulation's sink (test/sim/support/sim.global.ts). */
		simSinkPort: number;
		simSeeds: number[];
		simDebug: boolean;
	}
}
