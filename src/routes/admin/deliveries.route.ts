import { Hono } from "hono";
import * as v from "valibot";
import { deliveryOf, listDeliveries } from "../../db/deliveries.repository";
import { DELIVERY_OUTCOMES } from "../../db/delivery-outcomes";
import { listDeadNow } from "../../db/delivery-trails.repository";
import { receiptsOfEvents } from "../../db/event-receipts";
import type { AppEnv } from "../../http/app-env";
import { InvalidParameterError, MethodNotAllowedError } from "../../http/errors";
import { DeliverySchema, type DeliveryStatusResponseSchema, pageSchema } from "../responses";
import { cursorParam, PAGE_MAX_BYTES, pageEndingAt } from "./cursor";
import { deliveryStates } from "./delivery-state";
import { firstTryDeliveries, withFirstTries } from "./first-tries";
import { LimitParam, parseInput, TextParam, UNKNOWN_PARAMETER } from "./params";

const DeliveryKeySchema = v.tuple([v.pipe(v.number(), v.safeInteger(), v.minValue(0))]);

export const DeliveriesQuerySchema = v.strictObject(
	{
		/** The outcome of the attempt row itself; a dead event replayed since still has its dead row. */
		status: v.optional(v.picklist(DELIVERY_OUTCOMES, `must be one of ${DELIVERY_OUTCOMES.join(", ")}`)),
		/**
		 * With status=dead, `true` lists only deliveries dead now: what `{"dead": true}` would replay,
		 * and what /v1/stats counts as dead.
		 */
		current: v.optional(v.picklist(["true", "false"], "must be true or false")),
		eventId: v.optional(TextParam),
		destination: v.optional(TextParam),
		limit: LimitParam,
		cursor: v.optional(cursorParam(DeliveryKeySchema)),
	},
	UNKNOWN_PARAMETER,
);

type DeliveriesQuery = v.InferOutput<typeof DeliveriesQuerySchema>;

function listRows(db: D1Database, query: DeliveriesQuery) {
	if (query.current === "true") {
		if (query.status !== "dead" || query.eventId !== undefined) {
			throw new InvalidParameterError("current: only with status=dead, and without eventId");
		}
		const filter = { destination: query.destination, afterId: query.cursor?.[0] ?? 0 };
		return listDeadNow(db, filter, query.limit + 1, PAGE_MAX_BYTES);
	}
	const filter = { outcome: query.status, eventId: query.eventId, destination: query.destination };
	return listDeliveries(db, { ...filter, afterId: query.cursor?.[0] }, query.limit + 1, PAGE_MAX_BYTES);
}

/**
 * An event's first tries, which have no deliveries row: listed on the first page of a list by
 * `eventId`, where they match its filters. A list of all attempts would have to read every
 * minute's batch rows to find them, so it leaves them out.
 */
async function firstTriesFor(db: D1Database, query: DeliveriesQuery) {
	if (query.eventId === undefined || query.cursor !== undefined) return [];
	const found = await firstTryDeliveries(db, await receiptsOfEvents(db, [query.eventId]));
	return found.filter(
		(attempt) =>
			(query.status === undefined || attempt.outcome === query.status) &&
			(query.destination === undefined || attempt.destination === query.destination),
	);
}

/** At most this many events per status call: a page of the console's lists. */
export const STATUS_MAX_EVENTS = 100;

export const DeliveryStatusQuerySchema = v.strictObject(
	{
		eventIds: v.pipe(
			v.string(),
			v.transform((value) => [...new Set(value.split(",").filter((id) => id !== ""))]),
			v.minLength(1, "must name at least one event id"),
			v.maxLength(STATUS_MAX_EVENTS, `at most ${STATUS_MAX_EVENTS} event ids`),
			v.check(
				(ids) => ids.every((id) => /^evt_[a-z2-7]{1,64}$/.test(id)),
				"must be event ids (evt_…), comma-separated",
			),
		),
		/**
		 * The messages these events belong to, when the caller knows them: D1 then finds each event
		 * by key. Without it, an event no deliveries row names is looked for in every event table.
		 */
		messageIds: v.optional(
			v.pipe(
				v.string(),
				v.transform((value) => [...new Set(value.split(",").filter((id) => id !== ""))]),
				v.minLength(1, "must name at least one message id"),
				v.maxLength(STATUS_MAX_EVENTS, `at most ${STATUS_MAX_EVENTS} message ids`),
				v.check((ids) => ids.every((id) => id.length <= 256), "each at most 256 characters"),
			),
		),
	},
	UNKNOWN_PARAMETER,
);

/** Attempts in the order they were recorded (the row id is the insertion order); a page ends at `limit` rows or PAGE_MAX_BYTES. */
export const deliveriesRoute = new Hono<AppEnv>()
	/** Where each delivery of some events stands now: settled, retrying, held at its gate (and why), or queued. */
	.get("/deliveries/status", async (c) => {
		const { eventIds, messageIds } = parseInput(DeliveryStatusQuerySchema, c.req.query(), "query");
		const body: v.InferOutput<typeof DeliveryStatusResponseSchema> = {
			items: await deliveryStates(c.env, eventIds, messageIds),
		};
		return c.json(body);
	})
	.all("/deliveries/status", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	})
	.get("/deliveries", async (c) => {
		const query = parseInput(DeliveriesQuerySchema, c.req.query(), "query");
		const rows = await listRows(c.env.DB, query);
		const shown = rows.slice(0, query.limit);
		const last = shown.at(-1);
		const items = withFirstTries(shown.map(deliveryOf), await firstTriesFor(c.env.DB, query));
		return c.json(pageEndingAt(items, last && [last.id], (rows[0]?.fetched ?? 0) > shown.length));
	})
	.all("/deliveries", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	});

/** The answer of GET /deliveries, for the OpenAPI document. */
export const DeliveriesResponseSchema = pageSchema(DeliverySchema);
