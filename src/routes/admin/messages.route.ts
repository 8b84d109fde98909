import { Hono } from "hono";
import * as v from "valibot";
import { type DeliveryPageRow, deliveryOf, selectDeliveriesOfMessage } from "../../db/deliveries.repository";
import { messageEventsOf, selectMessageEvents } from "../../db/event-list.repository";
import { withEventTables } from "../../db/event-tables";
import { readEventsWithin } from "../../db/events.repository";
import { recipientStatuses } from "../../db/message-status.repository";
import type { AppEnv } from "../../http/app-env";
import { MethodNotAllowedError, NotFoundError } from "../../http/errors";
import { unreadableField } from "../responses";
import { cursorParam, encodeCursor, PAGE_MAX_BYTES } from "./cursor";
import { firstTryDeliveries, withFirstTries } from "./first-tries";
import { LimitParam, parseInput, TextParam, UNKNOWN_PARAMETER } from "./params";

export const MessageParamsSchema = v.object({ messageId: TextParam });

const Position = v.nullable(v.pipe(v.number(), v.safeInteger(), v.minValue(0)));
/** [last event sequence answered, last delivery id answered]; null once that list is complete. */
const MessageKeySchema = v.strictTuple([Position, Position]);

export const MessageQuerySchema = v.strictObject(
	{ limit: LimitParam, cursor: v.optional(cursorParam(MessageKeySchema)) },
	UNKNOWN_PARAMETER,
);

/**
 * Everything about one message: per-recipient status, its events by sequence, every delivery
 * attempt (first tries, which have no deliveries row, on the first page). The two lists page
 * together: `limit` rows of each (events also end at PAGE_MAX_BYTES), and one `nextCursor` resumes
 * both; a list already complete answers [] on the pages that follow.
 */
export const messagesRoute = new Hono<AppEnv>()
	.get("/messages/:messageId", async (c) => {
		const { messageId } = parseInput(MessageParamsSchema, c.req.param(), "path");
		const { limit, cursor } = parseInput(MessageQuerySchema, c.req.query(), "query");
		const [afterSequence, afterDelivery] = cursor ?? [0, 0];
		const db = c.env.DB;
		// One batch is one transaction: the parts describe the same moment. Every event of the message
		// is read without its body (a lookup on each event table's key; its statuses come from them),
		// and the page's bodies afterwards, within the page's byte budget.
		const [events, deliveries] = await withEventTables(db, async (tables) => {
			const ofMessage = selectMessageEvents(db, tables, messageId);
			const results = await db.batch([
				...ofMessage,
				afterDelivery === null || tables.length === 0
					? db.prepare("SELECT NULL LIMIT 0")
					: selectDeliveriesOfMessage(db, tables, messageId, afterDelivery, limit + 1, PAGE_MAX_BYTES),
			]);
			return [messageEventsOf(results.slice(0, ofMessage.length)), results.at(-1)] as const;
		});
		if (events.length === 0) throw new NotFoundError("no events are stored for this message id");

		const eventRows =
			afterSequence === null ? [] : events.filter((row) => row.sequence > afterSequence).slice(0, limit + 1);
		const read = await readEventsWithin(db, eventRows.slice(0, limit), PAGE_MAX_BYTES);
		const lastEvent = eventRows[read.consumed - 1];
		const moreEvents = read.consumed < eventRows.length && lastEvent !== undefined;

		const deliveryRows = ((deliveries?.results ?? []) as DeliveryPageRow[]).slice(0, limit);
		const lastDelivery = deliveryRows.at(-1);
		const moreDeliveries = (deliveryRows[0]?.fetched ?? 0) > deliveryRows.length && lastDelivery !== undefined;

		// First tries have no deliveries row: the first page lists them beside the rows they precede,
		// found from the message's events (their receipt says where they are filed).
		const firstTries = afterDelivery === 0 ? await firstTryDeliveries(db, events) : [];
		return c.json({
			messageId,
			recipients: recipientStatuses(events),
			events: read.events,
			deliveries: withFirstTries(deliveryRows.map(deliveryOf), firstTries),
			nextCursor:
				moreEvents || moreDeliveries
					? encodeCursor([moreEvents ? lastEvent.sequence : null, moreDeliveries ? lastDelivery.id : null])
					: null,
			...unreadableField(read.unreadable),
		});
	})
	.all("/messages/:messageId", () => {
		throw new MethodNotAllowedError(["GET", "HEAD", "DELETE"]);
	});
