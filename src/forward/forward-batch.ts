import { DEFAULT_RETRY_SCHEDULE, readForwardConfig } from "../config";
import { insertDelivery, type NewDeliveryRow } from "../db/deliveries.repository";
import { errorMessage, log } from "../log";
import { retryOrDead, type Settlement, settleMessage } from "./settle-message";

function eventIdOf(body: unknown): string {
	const id = (body as { eventId?: unknown } | null)?.eventId;
	return typeof id === "string" ? id : "unknown";
}

async function settleSafely(message: Message<unknown>, env: Env, schedule: readonly number[]): Promise<Settlement> {
	try {
		return await settleMessage(message.body, message.attempts, env.DB, readForwardConfig(env), DEFAULT_RETRY_SCHEDULE);
	} catch (error) {
		// Never drop an event on a surprise (D1 down while reading a large event, a bug): retry it.
		return retryOrDead(schedule, eventIdOf(message.body), message.attempts, `unexpected error: ${errorMessage(error)}`);
	}
}

/** Records every attempt; losing a log row must not turn a delivered event into a resend. */
export async function recordDeliveries(db: D1Database, rows: readonly NewDeliveryRow[]): Promise<void> {
	if (rows.length === 0) return;
	try {
		await db.batch(rows.map((row) => insertDelivery(db, row)));
	} catch (error) {
		log.error("deliveries_write_failed", { rows: rows.length, error: errorMessage(error) });
	}
}

/** The FORWARD_QUEUE consumer: each message is acked or retried on its own. */
export async function forwardBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	const config = readForwardConfig(env);
	const schedule = config.ok ? config.value.retryScheduleSeconds : DEFAULT_RETRY_SCHEDULE;
	const rows = await Promise.all(
		batch.messages.map(async (message): Promise<NewDeliveryRow> => {
			const settlement = await settleSafely(message, env, schedule);
			if (settlement.retryInSeconds === null) message.ack();
			else message.retry({ delaySeconds: settlement.retryInSeconds });
			const fields = { eventId: settlement.eventId, attempt: message.attempts, outcome: settlement.outcome };
			if (settlement.outcome === "dead") log.error("forward_dead", { ...fields, error: settlement.error });
			else if (settlement.outcome === "failed")
				log.warn("forward_failed", { ...fields, error: settlement.error, retryIn: settlement.retryInSeconds });
			return {
				event_id: settlement.eventId,
				attempt: message.attempts,
				outcome: settlement.outcome,
				http_status: settlement.httpStatus,
				error: settlement.error,
				duration_ms: settlement.durationMs,
				at: new Date().toISOString(),
			};
		}),
	);
	await recordDeliveries(env.DB, rows);
}
