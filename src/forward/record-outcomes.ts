import {
	createAttemptsTable,
	type FirstTry,
	fileOf,
	insertFirstTries,
	isMissingTable,
} from "../db/attempts.repository";
import { insertDelivery, type NewDeliveryRow } from "../db/deliveries.repository";
import { errorMessage, log } from "../log";
import { type ForwardJob, messageIdOfJob } from "./forward-job";
import type { Settlement } from "./settle-message";

/** What one consumer batch records: a row per attempt that needs one, and its first tries in bulk. */
export interface Outcomes {
	rows: NewDeliveryRow[];
	firstTries: FirstTry[];
}

/**
 * A first try that ends delivered or skipped is filed with the batch's other first tries
 * (src/db/attempts.repository.ts), under the time its event was received. Everything else — a
 * failure, a death, a success after failures, the outcome of a replay, or a first try whose
 * receipt time is unknown — gets its deliveries row, so the dead list and a failure trail stay
 * exact.
 */
export function addOutcome(
	outcomes: Outcomes,
	settlement: Settlement,
	attempt: number,
	job: ForwardJob | null,
	at: string,
): void {
	const firstTry = job !== null && attempt <= 1 && job.replay !== true;
	const { outcome, receivedAt } = settlement;
	const filed = receivedAt !== undefined && fileOf(receivedAt) !== null;
	if (firstTry && filed && (outcome === "delivered" || outcome === "skipped")) {
		outcomes.firstTries.push({
			eventId: settlement.eventId,
			destination: settlement.destination,
			outcome,
			httpStatus: settlement.httpStatus,
			durationMs: settlement.durationMs,
			error: settlement.error,
			receivedAt: receivedAt as string,
		});
		return;
	}
	outcomes.rows.push(deliveryRow(settlement, attempt, job, at));
}

export function deliveryRow(
	settlement: Settlement,
	attempt: number,
	job: ForwardJob | null,
	at: string,
): NewDeliveryRow {
	return {
		event_id: settlement.eventId,
		message_id: job === null ? null : messageIdOfJob(job),
		destination: settlement.destination,
		attempt,
		outcome: settlement.outcome,
		http_status: settlement.httpStatus,
		error: settlement.error,
		duration_ms: settlement.durationMs,
		at,
		next_at:
			settlement.retryInSeconds === null
				? null
				: new Date(Date.parse(at) + settlement.retryInSeconds * 1000).toISOString(),
	};
}

/**
 * Days whose first-try table this isolate has created or written: their CREATE is not sent again.
 * A table dropped since (retention, for a day that old) makes the write fail; it is then created
 * again and the batch written once more.
 */
const knownDays = new Set<string>();

function statementsOf(db: D1Database, outcomes: Outcomes, at: string, create: "new" | "all"): D1PreparedStatement[] {
	const firstTries = insertFirstTries(db, outcomes.firstTries, at);
	const creates = [...firstTries.days]
		.filter((day) => create === "all" || !knownDays.has(day))
		.map((day) => createAttemptsTable(db, day));
	return [...creates, ...outcomes.rows.map((row) => insertDelivery(db, row)), ...firstTries.statements];
}

/** Writes the batch's rows and first tries in one D1 batch; false if D1 refused them (logged, never thrown). */
export async function recordOutcomes(db: D1Database, outcomes: Outcomes, at: string): Promise<boolean> {
	if (outcomes.rows.length === 0 && outcomes.firstTries.length === 0) return true;
	try {
		try {
			await db.batch(statementsOf(db, outcomes, at, "new"));
		} catch (error) {
			if (!isMissingTable(error)) throw error;
			await db.batch(statementsOf(db, outcomes, at, "all"));
		}
		for (const attempt of outcomes.firstTries) {
			const day = fileOf(attempt.receivedAt)?.day;
			if (day !== undefined) knownDays.add(day);
		}
		return true;
	} catch (error) {
		log.error("deliveries_write_failed", {
			rows: outcomes.rows.length,
			firstTries: outcomes.firstTries.length,
			error: errorMessage(error),
		});
		return false;
	}
}
