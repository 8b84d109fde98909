import { Hono, type MiddlewareHandler } from "hono";
import * as v from "valibot";
import type { AppEnv } from "../../http/app-env";
import { MethodNotAllowedError, NotFoundError } from "../../http/errors";
import { meter } from "../../meter/meter";
import { meterReading } from "../../meter/meter-reading";

/**
 * The counts are per isolate: in production they describe one isolate's share of the traffic and
 * are no bill, so the route exists only where METER_ENDPOINT is "true" (the bench, a test).
 */
const meterEnabled: MiddlewareHandler<AppEnv> = async (c, next) => {
	if (c.env.METER_ENDPOINT !== "true") throw new NotFoundError();
	await next();
};

/** The cost meter's counts since the last reset (BENCHMARKS.md, "Cost meter"). */
export const meterRoute = new Hono<AppEnv>()
	.use("/meter", meterEnabled)
	.use("/meter/*", meterEnabled)
	.get("/meter", (c) => c.json(meterReading()))
	.all("/meter", () => {
		throw new MethodNotAllowedError(["GET"]);
	})
	.post("/meter/reset", (c) => {
		meter.reset();
		return c.json({ since: meter.since() });
	})
	.all("/meter/reset", () => {
		throw new MethodNotAllowedError(["POST"]);
	});

/** The answers of GET /meter and POST /meter/reset, for the OpenAPI document. */
export const MeterResponseSchema = v.strictObject({ counts: v.record(v.string(), v.number()), since: v.string() });
export const MeterResetResponseSchema = v.strictObject({ since: v.string() });
