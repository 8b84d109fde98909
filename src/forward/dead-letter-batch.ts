import { raiseAlert } from "../alerts/raise-alert";
import { insertDelivery } from "../db/deliveries.repository";
import { DEFAULT_DESTINATION } from "../destinations/read-destinations";
import { log } from "../log";

/**
 * Messages Cloudflare gave up on (the consumer crashed on them max_retries times) land here. They
 * are recorded as dead, so they show up in the admin API and can be replayed.
 */
export async function deadLetterBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	const at = new Date().toISOString();
	const rows = batch.messages.map((message) => {
		const body = message.body as { eventId?: unknown; destination?: unknown } | null;
		const eventId = typeof body?.eventId === "string" ? body.eventId : "unknown";
		const destination =
			body?.destination === null
				? "none"
				: typeof body?.destination === "string"
					? body.destination
					: DEFAULT_DESTINATION;
		log.error("forward_dead_lettered", { eventId, destination, queueMessageId: message.id });
		return insertDelivery(env.DB, {
			event_id: eventId,
			destination,
			attempt: message.attempts,
			outcome: "dead",
			http_status: null,
			error: `dead-letter queue: the consumer could not settle this event (queue message ${message.id})`,
			duration_ms: null,
			at,
		});
	});
	// If D1 is down this throws, and the dead-letter queue redelivers the batch later.
	await env.DB.batch(rows);
	batch.ackAll();
	await raiseAlert(env, {
		type: "relay.event.dead",
		key: DEFAULT_DESTINATION,
		count: batch.messages.length,
		data: {
			destination: DEFAULT_DESTINATION,
			lastError: "dead-letter queue: the consumer could not settle these events",
		},
		ids: batch.messages.map((message) => String((message.body as { eventId?: unknown } | null)?.eventId ?? "unknown")),
	});
}
