import { errorMessage, log } from "../log";
import { CallbackWindow } from "./callback-window";
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
 * builder) is swallowed, said once per isolate. One point per consumer batch, and the callbacks'
 * points summed per window of the isolate (callback-window.ts): AE bills each point, and a point
 * holds counts.
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
		failed(error);
	}
}

function failed(error: unknown): void {
	if (failureLogged) return;
	failureLogged = true;
	log.warn("metrics_write_failed", { error: errorMessage(error) });
}

const callbacks = new CallbackWindow();

/**
 * An accepted callback (made durable, answered 200), its quarantined elements included: into the
 * isolate's window, written with it.
 */
export function recordCallback(
	env: object,
	counts: CallbackCounts,
	events: readonly CallbackEvent[],
	quarantineReasons: readonly string[],
	now: number = Date.now(),
): void {
	try {
		if (datasetOf(env) === null) return;
		callbacks.add(callbackPoint(counts, events, quarantineReasons), now);
	} catch (error) {
		failed(error);
	}
	flushCallbacks(env, now);
}

/** One point per consumer batch: the attempts it settled. */
export function recordConsumerBatch(env: object, attempts: readonly SettledAttempt[], now: number = Date.now()): void {
	write(env, () => deliveriesPoint(attempts));
	flushCallbacks(env, now);
}

/**
 * Writes the isolate's window of callbacks if it is due (or `force`); the cron asks every minute,
 * so an isolate it runs in writes a window left open when traffic stopped. Without a dataset the
 * window is dropped.
 */
export function flushCallbacks(env: object, now: number = Date.now(), force = false): void {
	if (!force && !callbacks.due(now)) return;
	for (const point of callbacks.take()) write(env, () => point);
}

/** Tests only: lets the once-per-isolate failure line be observed again. */
export function resetMetricsFailureLog(): void {
	failureLogged = false;
}
