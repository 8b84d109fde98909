import * as v from "valibot";
import { raiseAlert } from "../alerts/raise-alert";
import { insertDelivery } from "../db/deliveries.repository";
import { log } from "../log";
import { ForwardJobSchema, messageIdOfJob } from "./forward-job";
import { destinationOf } from "./settle-message";

/**
 * Messages Cloudflare gave up on (the consumer crashed on them max_retries times) land here. They
 * are recorded as dead, so they show up in the admin API and can be replayed.
 */
export async function deadLetterBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	const at = new Date().toISOString();
	const dead = batch.messages.map((message) => {
		// Read as the consumer reads it, so its destination and attempt count match the consumer's.
		const job = v.safeParse(ForwardJobSchema, message.body);
		const eventId = job.success ? job.output.eventId : "unknown";
		const messageId = job.success ? messageIdOfJob(job.output) : null;
		const destination = job.success ? destinationOf(job.output) : "none";
		const attempt = (job.success ? (job.output.priorAttempts ?? 0) : 0) + message.attempts;
		log.error("forward_dead_lettered", { eventId, destination, queueMessageId: message.id });
		return { eventId, messageId, destination, attempt, queueMessageId: message.id };
	});
	// If D1 is down this throws, and the dead-letter queue redelivers the batch later.
	await env.DB.batch(
		dead.map((row) =>
			insertDelivery(env.DB, {
				event_id: row.eventId,
				message_id: row.messageId,
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
