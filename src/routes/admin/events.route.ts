import { Hono } from "hono";
import * as v from "valibot";
import { NORMALIZED_TYPES } from "../../bandwidth/event-types";
import { listEvents } from "../../db/event-list.repository";
import { readEventsWithin } from "../../db/events.repository";
import type { AppEnv } from "../../http/app-env";
import { MethodNotAllowedError } from "../../http/errors";
import { CloudEventSchema, pageSchema, UnreadableEventIdsSchema, unreadableField } from "../responses";
import { cursorParam, PAGE_MAX_BYTES, pageEndingAt } from "./cursor";
import { LimitParam, parseInput, TextParam, TimestampParam, UNKNOWN_PARAMETER } from "./params";

const EventKeySchema = v.tuple([v.string(), v.pipe(v.string(), v.startsWith("evt_"))]);

export const EventsQuerySchema = v.strictObject(
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
		/** One event by its id (evt_…). */
		eventId: v.optional(v.pipe(TextParam, v.startsWith("evt_", "must be an event id (evt_…)"))),
		/** Events whose sender, recipient or owner is this number; nothing indexes it, so give a time range too. */
		number: v.optional(TextParam),
		/** oldest (default) or newest first; pass the same with `cursor`. */
		order: v.optional(v.picklist(["oldest", "newest"], "must be oldest or newest"), "oldest"),
		limit: LimitParam,
		cursor: v.optional(cursorParam(EventKeySchema)),
	},
	UNKNOWN_PARAMETER,
);

/**
 * Oldest first by (event time, id), or newest first with order=newest; follow `nextCursor` until it
 * is null. A page ends at `limit` rows or PAGE_MAX_BYTES of CloudEvents, whichever comes first: the
 * rows are listed without their bodies, and the bodies read within the budget. Without `messageId`
 * (or an `eventId` whose deliveries rows name its message) a page scans the event tables from the one
 * before `since` on, each table's share bounded by the limit.
 */
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
				eventId: query.eventId,
				number: query.number,
				newestFirst: query.order === "newest",
			},
			query.limit + 1,
		);
		const read = await readEventsWithin(c.env.DB, rows.slice(0, query.limit), PAGE_MAX_BYTES);
		const last = rows[read.consumed - 1];
		// A row purged since it was listed (retention, the byte budget) or unreadable is left out; the
		// page goes on after it.
		const page = pageEndingAt(read.events, last && [last.event_time, last.id], read.consumed < rows.length);
		return c.json({ ...page, ...unreadableField(read.unreadable) });
	})
	.all("/events", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	});

/** The answer of GET /events, for the OpenAPI document. */
export const EventsResponseSchema = v.strictObject({
	...pageSchema(CloudEventSchema).entries,
	unreadableEventIds: UnreadableEventIdsSchema,
});
