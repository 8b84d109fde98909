import { raiseAlert } from "../alerts/raise-alert";
import { DEFAULT_RETRY_SCHEDULE, readForwardConfig } from "../config";
import { addDeliveryCounts, insertDelivery, type NewDeliveryRow } from "../db/deliveries.repository";
import { errorMessage, log } from "../log";
import { withMediaCopies } from "../media/with-media-copies";
import { DEFAULT_DESTINATION, recordDelivery } from "../metrics/record-metrics";
import { Limit } from "./limit";
import { eventLoader } from "./load-event";
import { type Forwarding, retryOrDead, type Settlement, settleMessage } from "./settle-message";

/**
 * Workers let 6 connections per invocation wait for headers; a 7th fetch() waits for a free one
 * with its timeout already running. A batch started all at once had its later requests to an
 * endpoint answering in 3–4 s aborted in flight (a second delivery of an event it had processed)
 * or before they were sent. So an invocation runs at most 6 attempts at a time, each from its load
 * to the end of its POST, and each POST's timeout starts with the POST.
 */
export const ATTEMPTS_IN_FLIGHT = 6;

/**
 * UTF-8 bytes of event bodies the attempts in flight may hold, each counted from before its load to
 * the end of its POST. A body costs about four times that in memory (the string at up to 2 bytes a
 * character, the signed bytes, the runtime's copy of the request): 8 MiB is then ~32 MiB, a quarter
 * of the 128 MB isolate, which other invocations may share. Six of the largest events (1.8 MB) would
 * be 10.8 MB, so it binds on large events only; an event larger than all of it goes alone.
 */
export const BODY_BYTES_IN_FLIGHT = 8 * 1024 * 1024;

function eventIdOf(body: unknown): string {
	const id = (body as { eventId?: unknown } | null)?.eventId;
	return typeof id === "string" ? id : "unknown";
}

async function settleSafely(
	message: Message<unknown>,
	env: Env,
	forwarding: Forwarding,
	schedule: readonly number[],
): Promise<Settlement> {
	try {
		return await settleMessage(
			message.body,
			message.attempts,
			forwarding,
			readForwardConfig(env),
			DEFAULT_RETRY_SCHEDULE,
		);
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

/**
 * A first-try success (delivered or skipped) is counted, not recorded: the common path then
 * writes one counter row per outcome per batch instead of a row and three index entries per
 * event. Everything else — a failure, a death, a success after failures, the outcome of a
 * replay — gets its row, so the dead list and a message's trail stay exact.
 */
function isRecorded(settlement: Settlement, attempt: number, body: unknown): boolean {
	const firstTry = attempt <= 1 && (body as { replay?: unknown } | null)?.replay !== true;
	return !(firstTry && (settlement.outcome === "delivered" || settlement.outcome === "skipped"));
}

/** Writes the batch's rows and counts in one D1 batch; false if D1 refused them (logged, never thrown). */
async function recordDeliveries(
	db: D1Database,
	rows: readonly NewDeliveryRow[],
	counts: ReadonlyMap<string, number>,
): Promise<boolean> {
	if (rows.length === 0 && counts.size === 0) return true;
	try {
		const hour = new Date().toISOString().slice(0, 13);
		await db.batch([...rows.map((row) => insertDelivery(db, row)), ...addDeliveryCounts(db, hour, counts)]);
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
	// Each event then fails with "forwarding is misconfigured"; the cause is said once a batch.
	if (!config.ok) log.error("config_invalid", { message: config.message });
	const schedule = config.ok ? config.value.retryScheduleSeconds : DEFAULT_RETRY_SCHEDULE;
	// Per invocation, as the runtime counts connections (and a waiter must not outlive its request).
	const attempts = new Limit(ATTEMPTS_IN_FLIGHT);
	const forwarding: Forwarding = {
		loadEvent: eventLoader(env),
		bodyBytes: new Limit(BODY_BYTES_IN_FLIGHT),
		withMedia: (eventJson) => withMediaCopies(eventJson, env),
	};
	const settled = await Promise.all(
		batch.messages.map(async (message) => ({
			message,
			settlement: await attempts.run(1, () => settleSafely(message, env, forwarding, schedule)),
		})),
	);
	const counts = new Map<string, number>();
	const rows: NewDeliveryRow[] = [];
	for (const { message, settlement } of settled) {
		recordDelivery(env, message.body, message.attempts, settlement);
		if (isRecorded(settlement, message.attempts, message.body)) rows.push(deliveryRow(settlement, message.attempts));
		else counts.set(settlement.outcome, (counts.get(settlement.outcome) ?? 0) + 1);
	}
	const recorded = await recordDeliveries(env.DB, rows, counts);
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
	// Counted into one alert per window, whatever the storm (src/alerts).
	const dead = recorded ? settled.filter(({ settlement }) => settlement.outcome === "dead") : [];
	if (dead.length > 0) {
		await raiseAlert(env, {
			type: "relay.event.dead",
			key: DEFAULT_DESTINATION,
			count: dead.length,
			data: { destination: DEFAULT_DESTINATION, lastError: dead.at(-1)?.settlement.error ?? null },
			ids: dead.map(({ settlement }) => settlement.eventId),
		});
	}
}
