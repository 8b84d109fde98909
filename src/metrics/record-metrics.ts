import { errorMessage, log } from "../log";
import { applicationOf, type CallbackCounts, callbackPoint, deliveryPoint, quarantinePoints } from "./data-points";
import { eventFactsOf } from "./event-facts";

/*
 * The optional METRICS binding (Workers Analytics Engine). writeDataPoint is synchronous and
 * buffered by the runtime, so nothing here is awaited; and nothing here may change what the relay
 * answers or delivers: a missing binding writes nothing, and a throwing one (or a bug in a
 * builder) is swallowed, said once per isolate.
 */

/**
 * Quarantine points per quarantine write. AE takes at most 250 points per invocation; a callback
 * writes one point, and up to two quarantine writes (invalid elements, then any its ledgers refused).
 */
export const MAX_QUARANTINE_POINTS = 100;

type Dataset = Pick<AnalyticsEngineDataset, "writeDataPoint">;

let failureLogged = false;

function datasetOf(env: object): Dataset | null {
	const dataset = (env as { METRICS?: Partial<Dataset> | null }).METRICS;
	return typeof dataset?.writeDataPoint === "function" ? (dataset as Dataset) : null;
}

/** Builds and writes only when a dataset is bound; never throws. */
function write(env: object, build: () => readonly AnalyticsEngineDataPoint[]): void {
	try {
		const dataset = datasetOf(env);
		if (dataset === null) return;
		for (const point of build()) dataset.writeDataPoint(point);
	} catch (error) {
		if (failureLogged) return;
		failureLogged = true;
		log.warn("metrics_write_failed", { error: errorMessage(error) });
	}
}

/** One point per accepted callback (made durable), after ingest. */
export function recordCallback(
	env: object,
	counts: CallbackCounts,
	events: readonly { application_id: string | null }[],
): void {
	write(env, () => [callbackPoint(counts, applicationOf(events.map((event) => event.application_id)))]);
}

/** The parts of a settled queue message a delivery point needs (Settlement in src/forward/settle-message.ts). */
export interface SettledAttempt {
	destination: string;
	outcome: string;
	httpStatus: number | null;
	durationMs: number | null;
}

/** One point per delivery attempt; `jobBody` is the queue message's body (its inline event, if any). */
export function recordDelivery(env: object, jobBody: unknown, attempt: number, settled: SettledAttempt): void {
	write(env, () => [
		deliveryPoint({
			destination: settled.destination,
			outcome: settled.outcome,
			httpStatus: settled.httpStatus,
			latencyMs: settled.durationMs,
			attempt,
			...eventFactsOf(jobBody),
		}),
	]);
}

/** One point per quarantined element (bounded; see quarantinePoints). */
export function recordQuarantined(env: object, rows: readonly { reason: string }[]): void {
	if (rows.length === 0) return;
	write(env, () =>
		quarantinePoints(
			rows.map((row) => row.reason),
			MAX_QUARANTINE_POINTS,
		),
	);
}

/** Tests only: lets the once-per-isolate failure line be observed again. */
export function resetMetricsFailureLog(): void {
	failureLogged = false;
}
