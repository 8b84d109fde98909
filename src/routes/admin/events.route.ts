import { Hono } from "hono";
import * as v from "valibot";
import { NORMALIZED_TYPES } from "../../bandwidth/event-types";
import { eventOf, listEvents } from "../../db/events.repository";
import type { AppEnv } from "../../http/app-env";
import { MethodNotAllowedError } from "../../http/errors";
import { cursorParam, pageOf } from "./cursor";
import { LimitParam, parseInput, TextParam, TimestampParam, UNKNOWN_PARAMETER } from "./params";

const EventKeySchema = v.tuple([v.string(), v.pipe(v.string(), v.startsWith("evt_"))]);

const EventsQuerySchema = v.strictObject(
	{
		messageId: v.optional(TextParam),
		type: v.optional(v.picklist(NORMALIZED_TYPES, `must be one of ${NORMALIZED_TYPES.join(", ")}`)),
		direction: v.optional(v.picklist(["inbound", "outbound"], "must be inbound or outbound")),
		from: v.optional(TextParam),
		/** The recipient the event is about (the envelope `to`). */
		to: v.optional(TextParam),
		/** On the event's own time, inclusive. */
		since: v.optional(TimestampParam),
		/** Exclusive. */
		until: v.optional(TimestampParam),
		limit: LimitParam,
		cursor: v.optional(cursorParam(EventKeySchema)),
	},
	UNKNOWN_PARAMETER,
);

/** Oldest first by (event time, id); follow `nextCursor` until it is null. */
export const eventsRoute = new Hono<AppEnv>()
	.get("/events", async (c) => {
		const query = parseInput(EventsQuerySchema, c.req.query(), "query");
		const rows = await listEvents(
			c.env.DB,
			{
				messageId: query.messageId,
				type: query.type,
				direction: query.direction,
				from: query.from,
				recipient: query.to,
				since: query.since,
				until: query.until,
				after: query.cursor,
			},
			query.limit + 1,
		);
		const events = await Promise.all(rows.slice(0, query.limit).map(eventOf));
		return c.json(
			pageOf(
				rows,
				query.limit,
				(row) => [row.event_time, row.id],
				(_row, index) => events[index],
			),
		);
	})
	.all("/events", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	});
