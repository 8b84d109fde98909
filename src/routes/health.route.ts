import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { MethodNotAllowedError } from "../http/errors";
import { errorMessage, log } from "../log";
import { RELAY_VERSION } from "../version";

/** A load balancer or uptime check wants an answer quickly, even when D1 hangs. */
const D1_TIMEOUT_MS = 2000;

async function d1Reachable(db: D1Database): Promise<boolean> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`no answer within ${D1_TIMEOUT_MS} ms`)), D1_TIMEOUT_MS);
	});
	try {
		// A real table, not SELECT 1: a database that answers but has lost its schema cannot store events.
		await Promise.race([db.prepare("SELECT 1 FROM events LIMIT 1").first(), timeout]);
		return true;
	} catch (error) {
		// The detail goes to the log only; the answer is public.
		log.error("health_d1_unreachable", { error: errorMessage(error) });
		return false;
	} finally {
		if (timer !== undefined) clearTimeout(timer);
	}
}

export const healthRoute = new Hono<AppEnv>()
	.get("/health", async (c) => {
		c.header("cache-control", "no-store");
		if (await d1Reachable(c.env.DB)) return c.json({ status: "ok", d1: "ok", version: RELAY_VERSION }, 200);
		return c.json({ status: "degraded", d1: "unreachable", version: RELAY_VERSION }, 503);
	})
	.all("/health", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	});
