import { Hono } from "hono";
import { configProblems } from "../config";
import type { AppEnv } from "../http/app-env";
import { MethodNotAllowedError } from "../http/errors";
import { errorMessage, log } from "../log";
import { type D1StorageReport, readD1Storage } from "../maintenance/enforce-budget";
import { mediaConfigProblems } from "../media/media-config";
import { RELAY_VERSION } from "../version";
import { within } from "../within";

/** A load balancer or uptime check wants an answer quickly, even when D1 hangs. */
const D1_TIMEOUT_MS = 2000;

/** The storage report, or null when D1 cannot serve the events table. */
async function probeD1(env: Env): Promise<D1StorageReport | null> {
	try {
		// A real table, not SELECT 1: a database that answers but has lost its schema cannot store events.
		return await within(readD1Storage(env), D1_TIMEOUT_MS, () => {
			throw new Error(`no answer within ${D1_TIMEOUT_MS} ms`);
		});
	} catch (error) {
		// The detail goes to the log only; the answer is public.
		log.error("health_d1_unreachable", { error: errorMessage(error) });
		return null;
	}
}

/**
 * `d1` says whether D1 answers; `storage.d1` how full it is against D1_BUDGET_MB and how far back
 * its events go (older history is in the archive, when there is one).
 */
export const healthRoute = new Hono<AppEnv>()
	.get("/health", async (c) => {
		c.header("cache-control", "no-store");
		const d1 = await probeD1(c.env);
		// Which settings are wrong goes to the log; the public answer only says that some are.
		const problems = [...configProblems(c.env), ...mediaConfigProblems(c.env)];
		if (problems.length > 0) log.error("config_invalid", { problems });
		const config = problems.length > 0 ? "config_invalid" : "ok";
		if (d1 === null) {
			return c.json({ status: "degraded", d1: "unreachable", config, version: RELAY_VERSION, storage: null }, 503);
		}
		const status = config === "ok" ? "ok" : "degraded";
		return c.json({ status, d1: "ok", config, version: RELAY_VERSION, storage: { d1 } }, 200);
	})
	.all("/health", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	});
