import { Hono } from "hono";
import * as v from "valibot";
import { type DeliveryPageRow, deliveryOf, selectDeliveriesOfMessage } from "../../db/deliveries.repository";
import { receiptsOfMessage } from "../../db/event-receipts";
import {
	type EventPageRow,
	eventOf,
	readEventsWithin,
	selectAnyEventOfMessage,
	selectEventsOfMessage,
} from "../../db/events.repository";
import { type MessageStatusRow, recipientStatusOf, selectStatusesOfMessage } from "../../db/message-status.repository";
import type { AppEnv } from "../../http/app-env";
import { MethodNotAllowedError, NotFoundError } from "../../http/errors";
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
 * attempt (first tries, which have no deliveries row, on the first page). The two lists page together: `limit` rows of each (events also end at PAGE_MAX_BYTES),
 * and one `nextCursor` resumes both; a list already complete answers [] on the pages that follow.
 */
export const messagesRoute = new Hono<AppEnv>()
	.get("/messages/:messageId", async (c) => {
		const { messageId } = parseInput(MessageParamsSchema, c.req.param(), "path");
		const { limit, cursor } = parseInput(MessageQuerySchema, c.req.query(), "query");
		const [afterSequence, afterDelivery] = cursor ?? [0, 0];
		const db = c.env.DB;
		const nothing = db.prepare("SELECT NULL LIMIT 0");
		// One batch is one transaction: the parts describe the same moment. The events' bodies are
		// read afterwards, within the page's byte budget.
		const [found, statuses, events, deliveries] = await db.batch([
			selectAnyEventOfMessage(db, messageId),
			selectStatusesOfMessage(db, messageId),
			afterSequence === null ? nothing : selectEventsOfMessage(db, messageId, afterSequence, limit + 1),
			afterDelivery === null
				? nothing
				: selectDeliveriesOfMessage(db, messageId, afterDelivery, limit + 1, PAGE_MAX_BYTES),
		]);
		if ((found?.results ?? []).length === 0) throw new NotFoundError("no events are stored for this message id");

		const eventRows = (events?.results ?? []) as EventPageRow[];
		const bodies = await readEventsWithin(db, eventRows.slice(0, limit), PAGE_MAX_BYTES);
		const lastEvent = eventRows[bodies.length - 1];
		const moreEvents = bodies.length < eventRows.length && lastEvent !== undefined;

		const deliveryRows = ((deliveries?.results ?? []) as DeliveryPageRow[]).slice(0, limit);
		const lastDelivery = deliveryRows.at(-1);
		const moreDeliveries = (deliveryRows[0]?.fetched ?? 0) > deliveryRows.length && lastDelivery !== undefined;

		// First tries have no deliveries row: the first page lists them beside the rows they precede.
		const firstTries = afterDelivery === 0 ? await firstTryDeliveries(db, await receiptsOfMessage(db, messageId)) : [];
		return c.json({
			messageId,
			recipients: ((statuses?.results ?? []) as MessageStatusRow[]).map(recipientStatusOf),
			events: bodies.flatMap((json) => (json === null ? [] : [eventOf(json)])),
			deliveries: withFirstTries(deliveryRows.map(deliveryOf), firstTries),
			nextCursor:
				moreEvents || moreDeliveries
					? encodeCursor([moreEvents ? lastEvent.sequence : null, moreDeliveries ? lastDelivery.id : null])
					: null,
		});
	})
	.all("/messages/:messageId", () => {
		throw new MethodNotAllowedError(["GET", "HEAD", "DELETE"]);
	});
