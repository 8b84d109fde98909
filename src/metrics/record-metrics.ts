import { errorMessage, log } from "../log";
import {
	type CallbackCounts,
	type CallbackEvent,
	callbackPoint,
	deliveriesPoint,
	type SettledAttempt,
} from "./data-points";

/*
 * The optional METRICS binding (Workers Analytics Engine). writeDataPoint is synchronous and
 * buffered by the runtime, so nothing here is awaited; and nothing here may change what the relay
 * answers or delivers: a missing binding writes nothing, and a throwing one (or a bug in a
 * builder) is swallowed, said once per isolate. One point per callback and one per consumer batch:
 * AE bills each point, and a point holds counts.
 */

type Dataset = Pick<AnalyticsEngineDataset, "writeDataPoint">;

let failureLogged = false;

function datasetOf(env: object): Dataset | null {
	const dataset = (env as { METRICS?: Partial<Dataset> | null }).METRICS;
	return typeof dataset?.writeDataPoint === "function" ? (dataset as Dataset) : null;
}

/** Builds and writes only when a dataset is bound; never throws. */
function write(env: object, build: () => AnalyticsEngineDataPoint | null): void {
	try {
		const dataset = datasetOf(env);
		if (dataset === null) return;
		const point = build();
		if (point !== null) dataset.writeDataPoint(point);
	} catch (error) {
		if (failureLogged) return;
		failureLogged = true;
		log.warn("metrics_write_failed", { error: errorMessage(error) });
	}
}

/** One point per accepted callback (made durable, answered 200), its quarantined elements included. */
export function recordCallback(
	env: object,
	counts: CallbackCounts,
	events: readonly CallbackEvent[],
	quarantineReasons: readonly string[],
): void {
	write(env, () => callbackPoint(counts, events, quarantineReasons));
}

/** One point per consumer batch: the attempts it settled. */
export function recordConsumerBatch(env: object, attempts: readonly SettledAttempt[]): void {
	write(env, () => deliveriesPoint(attempts));
}

/** Tests only: lets the once-per-isolate failure line be observed again. */
export function resetMetricsFailureLog(): void {
	failureLogged = false;
}
