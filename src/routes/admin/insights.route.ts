import { Hono } from "hono";
import * as v from "valibot";
import type { AppEnv } from "../../http/app-env";
import { InvalidParameterError, MethodNotAllowedError } from "../../http/errors";
import { readInsights } from "../../insights/insights.repository";
import { parseInput, TextParam, TimestampParam, UNKNOWN_PARAMETER } from "./params";

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** The most a window may span: a series of at most 744 hours, or 400 days (the rollups' whole life). */
export const MAX_WINDOW_DAYS = { hour: 31, day: 400 } as const;
const DEFAULT_WINDOW_MS = { hour: DAY_MS, day: 30 * DAY_MS } as const;

export const InsightsQuerySchema = v.strictObject(
	{
		/** Inclusive, rounded down to its hour (or day); default 24 h (30 days by day) before `until`. */
		since: v.optional(TimestampParam),
		/** Exclusive; default now. */
		until: v.optional(TimestampParam),
		granularity: v.optional(v.picklist(["hour", "day"], "must be hour or day"), "hour"),
		applicationId: v.optional(TextParam),
		/** The Bandwidth number: the sender of outbound messages, the receiving number of inbound ones. */
		owner: v.optional(TextParam),
	},
	UNKNOWN_PARAMETER,
);

/**
 * Delivery rate, error codes, latency and inbound counts per hour or day, optionally for one
 * application or number; counted by the hour the messages were sent in (README "Insights").
 */
export const insightsRoute = new Hono<AppEnv>()
	.get("/insights", async (c) => {
		const query = parseInput(InsightsQuerySchema, c.req.query(), "query");
		const until = query.until ?? new Date().toISOString();
		const since = query.since ?? new Date(Date.parse(until) - DEFAULT_WINDOW_MS[query.granularity]).toISOString();
		if (Date.parse(since) >= Date.parse(until)) throw new InvalidParameterError("since: must be before until");
		const maxDays = MAX_WINDOW_DAYS[query.granularity];
		if (Date.parse(until) - Date.parse(since) > maxDays * DAY_MS) {
			throw new InvalidParameterError(
				`since: at most ${maxDays} days before until with granularity=${query.granularity}`,
			);
		}
		return c.json(
			await readInsights(c.env.DB, {
				since,
				until,
				granularity: query.granularity,
				applicationId: query.applicationId,
				owner: query.owner,
			}),
		);
	})
	.all("/insights", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	});
