import { Hono } from "hono";
import * as v from "valibot";
import { type DeliveryRow, deliveryOf, selectDeliveriesOfMessage } from "../../db/deliveries.repository";
import { eventOf, type StoredBody, selectEventsOfMessage } from "../../db/events.repository";
import { type MessageStatusRow, recipientStatusOf, selectStatusesOfMessage } from "../../db/message-status.repository";
import type { AppEnv } from "../../http/app-env";
import { MethodNotAllowedError, NotFoundError } from "../../http/errors";
import { parseInput, TextParam } from "./params";

const MessageParamsSchema = v.object({ messageId: TextParam });

/** Everything about one message: per-recipient status, its events by sequence, every delivery attempt. */
export const messagesRoute = new Hono<AppEnv>()
	.get("/messages/:messageId", async (c) => {
		const { messageId } = parseInput(MessageParamsSchema, c.req.param(), "path");
		const db = c.env.DB;
		// One batch is one transaction: the three parts describe the same moment.
		const [events, statuses, deliveries] = await db.batch([
			selectEventsOfMessage(db, messageId),
			selectStatusesOfMessage(db, messageId),
			selectDeliveriesOfMessage(db, messageId),
		]);
		const eventRows = (events?.results ?? []) as StoredBody[];
		if (eventRows.length === 0) throw new NotFoundError("no events are stored for this message id");
		return c.json({
			messageId,
			recipients: ((statuses?.results ?? []) as MessageStatusRow[]).map(recipientStatusOf),
			events: await Promise.all(eventRows.map(eventOf)),
			deliveries: ((deliveries?.results ?? []) as DeliveryRow[]).map(deliveryOf),
		});
	})
	.all("/messages/:messageId", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	});
