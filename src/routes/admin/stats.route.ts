import { Hono } from "hono";
import * as v from "valibot";
import { readStats } from "../../db/stats.repository";
import type { AppEnv } from "../../http/app-env";
import { MethodNotAllowedError } from "../../http/errors";
import { parseInput, TimestampParam, UNKNOWN_PARAMETER } from "./params";

const DEFAULT_WINDOW_MS = 24 * 60 * 60 * 1000;

const StatsQuerySchema = v.strictObject({ since: v.optional(TimestampParam) }, UNKNOWN_PARAMETER);

export const statsRoute = new Hono<AppEnv>()
	.get("/stats", async (c) => {
		const { since } = parseInput(StatsQuerySchema, c.req.query(), "query");
		return c.json(await readStats(c.env.DB, since ?? new Date(Date.now() - DEFAULT_WINDOW_MS).toISOString()));
	})
	.all("/stats", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	});
