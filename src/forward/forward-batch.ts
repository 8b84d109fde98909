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

/**
 * A dead event whose record could not be written is tried again after this long rather than
 * acked: its deliveries row is what puts it in the dead list and in `{"dead": true}` replay.
 */
export const DEAD_UNRECORDED_RETRY_SECONDS = 60;

/** Records every attempt; false if D1 refused the rows (logged, never thrown). */
async function recordDeliveries(db: D1Database, rows: readonly NewDeliveryRow[]): Promise<boolean> {
	if (rows.length === 0) return true;
	try {
		await db.batch(rows.map((row) => insertDelivery(db, row)));
		return true;
	} catch (error) {
		log.error("deliveries_write_failed", { rows: rows.length, error: errorMessage(error) });
		return false;
	}
}

function deliveryRow(settlement: Settlement, attempt: number): NewDeliveryRow {
	return {
		event_id: settlement.eventId,
		attempt,
		outcome: settlement.outcome,
		http_status: settlement.httpStatus,
		error: settlement.error,
		duration_ms: settlement.durationMs,
		at: new Date().toISOString(),
	};
}

/** The FORWARD_QUEUE consumer: each message is acked or retried on its own. */
export async function forwardBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	const config = readForwardConfig(env);
	const schedule = config.ok ? config.value.retryScheduleSeconds : DEFAULT_RETRY_SCHEDULE;
	const settled = await Promise.all(
		batch.messages.map(async (message) => ({ message, settlement: await settleSafely(message, env, schedule) })),
	);
	const recorded = await recordDeliveries(
		env.DB,
		settled.map(({ message, settlement }) => deliveryRow(settlement, message.attempts)),
	);
	for (const { message, settlement } of settled) {
		const fields = { eventId: settlement.eventId, attempt: message.attempts, outcome: settlement.outcome };
		if (settlement.retryInSeconds !== null) {
			log.warn("forward_failed", { ...fields, error: settlement.error, retryIn: settlement.retryInSeconds });
			message.retry({ delaySeconds: settlement.retryInSeconds });
		} else if (settlement.outcome === "dead" && !recorded) {
			// Delivered and skipped events are acked even unrecorded: a resend would be worse than a lost row.
			log.error("forward_dead_unrecorded", { ...fields, error: settlement.error });
			message.retry({ delaySeconds: DEAD_UNRECORDED_RETRY_SECONDS });
		} else {
			if (settlement.outcome === "dead") log.error("forward_dead", { ...fields, error: settlement.error });
			message.ack();
		}
	}
}
