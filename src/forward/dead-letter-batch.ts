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
	const dead = batch.messages.map((message) => {
		const body = message.body as { eventId?: unknown; destination?: unknown; priorAttempts?: unknown } | null;
		const eventId = typeof body?.eventId === "string" ? body.eventId : "unknown";
		const destination =
			body?.destination === null
				? "none"
				: typeof body?.destination === "string"
					? body.destination
					: DEFAULT_DESTINATION;
		// Attempts before a hold re-queued it count too, as the consumer counts them.
		const prior = typeof body?.priorAttempts === "number" ? body.priorAttempts : 0;
		log.error("forward_dead_lettered", { eventId, destination, queueMessageId: message.id });
		return { eventId, destination, attempt: prior + message.attempts, queueMessageId: message.id };
	});
	// If D1 is down this throws, and the dead-letter queue redelivers the batch later.
	await env.DB.batch(
		dead.map((row) =>
			insertDelivery(env.DB, {
				event_id: row.eventId,
				destination: row.destination,
				attempt: row.attempt,
				outcome: "dead",
				http_status: null,
				error: `dead-letter queue: the consumer could not settle this event (queue message ${row.queueMessageId})`,
				duration_ms: null,
				at,
			}),
		),
	);
	batch.ackAll();
	// One alert per destination, as the consumer raises them.
	for (const [destination, rows] of Map.groupBy(dead, (row) => row.destination)) {
		await raiseAlert(env, {
			type: "relay.event.dead",
			key: destination,
			count: rows.length,
			data: { destination, lastError: "dead-letter queue: the consumer could not settle these events" },
			ids: rows.map((row) => row.eventId),
		});
	}
}
