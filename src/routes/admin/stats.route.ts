import { Hono } from "hono";
import * as v from "valibot";
import { readStats } from "../../db/stats.repository";
import type { AppEnv } from "../../http/app-env";
import { MethodNotAllowedError } from "../../http/errors";
import { readD1Storage } from "../../maintenance/enforce-budget";
import { parseInput, TimestampParam, UNKNOWN_PARAMETER } from "./params";

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_WINDOW_MS = DAY_MS;
/** The counts read every event in the window: a month is the most one request may ask D1 to read. */
export const MAX_WINDOW_DAYS = 31;

export const StatsQuerySchema = v.strictObject(
	{
		since: v.optional(
			v.pipe(
				TimestampParam,
				v.check(
					(since) => Date.parse(since) >= Date.now() - MAX_WINDOW_DAYS * DAY_MS,
					`must be within the last ${MAX_WINDOW_DAYS} days`,
				),
			),
		),
	},
	UNKNOWN_PARAMETER,
);

export const statsRoute = new Hono<AppEnv>()
	.get("/stats", async (c) => {
		const { since } = parseInput(StatsQuerySchema, c.req.query(), "query");
		const [stats, d1] = await Promise.all([
			readStats(c.env.DB, since ?? new Date(Date.now() - DEFAULT_WINDOW_MS).toISOString()),
			readD1Storage(c.env),
		]);
		return c.json({ ...stats, storage: { d1 } });
	})
	.all("/stats", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	});
