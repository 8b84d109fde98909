import { Hono } from "hono";
import * as v from "valibot";
import { deliveryOf, listDeliveries } from "../../db/deliveries.repository";
import { DELIVERY_OUTCOMES } from "../../db/delivery-outcomes";
import type { AppEnv } from "../../http/app-env";
import { MethodNotAllowedError } from "../../http/errors";
import { DeliverySchema, pageSchema } from "../responses";
import { cursorParam, PAGE_MAX_BYTES, pageEndingAt } from "./cursor";
import { LimitParam, parseInput, TextParam, UNKNOWN_PARAMETER } from "./params";

const DeliveryKeySchema = v.tuple([v.pipe(v.number(), v.safeInteger(), v.minValue(0))]);

export const DeliveriesQuerySchema = v.strictObject(
	{
		/** The outcome of the attempt row itself; a dead event replayed since still has its dead row. */
		status: v.optional(v.picklist(DELIVERY_OUTCOMES, `must be one of ${DELIVERY_OUTCOMES.join(", ")}`)),
		eventId: v.optional(TextParam),
		destination: v.optional(TextParam),
		limit: LimitParam,
		cursor: v.optional(cursorParam(DeliveryKeySchema)),
	},
	UNKNOWN_PARAMETER,
);

/** Attempts in the order they were recorded (the row id is the insertion order); a page ends at `limit` rows or PAGE_MAX_BYTES. */
export const deliveriesRoute = new Hono<AppEnv>()
	.get("/deliveries", async (c) => {
		const query = parseInput(DeliveriesQuerySchema, c.req.query(), "query");
		const rows = await listDeliveries(
			c.env.DB,
			{ outcome: query.status, eventId: query.eventId, destination: query.destination, afterId: query.cursor?.[0] },
			query.limit + 1,
			PAGE_MAX_BYTES,
		);
		const shown = rows.slice(0, query.limit);
		const last = shown.at(-1);
		return c.json(pageEndingAt(shown.map(deliveryOf), last && [last.id], (rows[0]?.fetched ?? 0) > shown.length));
	})
	.all("/deliveries", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	});

/** The answer of GET /deliveries, for the OpenAPI document. */
export const DeliveriesResponseSchema = pageSchema(DeliverySchema);
