/*
 * Workers Analytics Engine data points (docs/metrics.md lists every column). AE bills each
 * writeDataPoint, so the relay writes one point per consumer batch and sums the callbacks' points
 * per window (callback-window.ts), never one per event: each point carries counts as doubles. blob1 is always the kind, so one dataset answers
 * every question with a `WHERE blob1 = …`; index1 is the dimension on-call filters by (and AE
 * samples by). Pure functions: the writer (record-metrics.ts) decides whether anything is written.
 */

export type MetricKind = "callback" | "deliveries";

/** What one accepted callback did (IngestCounts in src/ingest/ingest-batch.ts). */
export interface CallbackCounts {
	received: number;
	stored: number;
	duplicates: number;
	quarantined: number;
}

/** A callback's events as its point describes them (the fields of their D1 rows). */
export interface CallbackEvent {
	application_id: string | null;
	type: string;
	error_code: number | null;
}

/** One settled queue message, as the consumer settled it (Settlement in src/forward/settle-message.ts). */
export interface SettledAttempt {
	destination: string;
	outcome: string;
	httpStatus: number | null;
	/** Null when no POST was made (skipped, misconfigured, event gone). */
	durationMs: number | null;
	attempt: number;
}

/** The value several items share, "mixed" when they differ, "" when none has one. */
export const MIXED = "mixed";

/** AE refuses an index over 96 bytes; an application id may be up to 128 characters. */
export const MAX_INDEX_BYTES = 96;

/** Upper bounds (ms) of the latency buckets a deliveries point counts POSTs in; the last is open. */
export const LATENCY_BUCKETS_MS = [250, 1000, 3000, 10_000] as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function clipToBytes(value: string, maxBytes: number = MAX_INDEX_BYTES): string {
	const bytes = encoder.encode(value);
	if (bytes.byteLength <= maxBytes) return value;
	// A cut inside a multi-byte character decodes to U+FFFD: drop it rather than index a broken one.
	return decoder.decode(bytes.subarray(0, maxBytes)).replace(/\uFFFD+$/, "");
}

export function shared(values: Iterable<string | null>): string {
	let found: string | null = null;
	for (const value of values) {
		if (value === null || value === found) continue;
		if (found !== null) return MIXED;
		found = value;
	}
	return found ?? "";
}

/**
 * The field a quarantine reason names ("message.to.1: Invalid type…" → "message.to.1"), never the
 * value it quotes: a reason can hold up to 100 characters of a phone number or a text.
 */
export function reasonPath(reason: string): string {
	const colon = reason.indexOf(":");
	const path = colon <= 0 ? "unknown" : reason.slice(0, colon).trim();
	return /^[\w.[\]-]{1,64}$/.test(path) ? path : "unknown";
}

/**
 * index1 = the application id ("" with no event, "mixed" for several); blob1 "callback", blob2 the
 * same id, blob3 the events' type, blob4 the Bandwidth error code of its `failed` events, blob5 the
 * path its quarantined elements failed on (each "" for none, "mixed" for several);
 * double1..4 = received, stored, duplicates, quarantined; double5 = stored events with an error
 * code (exact for a one-event callback, as Bandwidth sends; with duplicates among several, the
 * duplicates are taken to be those).
 */
export function callbackPoint(
	counts: CallbackCounts,
	events: readonly CallbackEvent[],
	quarantineReasons: readonly string[],
): AnalyticsEngineDataPoint {
	const application = clipToBytes(shared(events.map((event) => event.application_id)));
	const failed = events.filter((event) => event.error_code !== null);
	const notStored = events.length - counts.stored;
	return {
		indexes: [application],
		blobs: [
			"callback",
			application,
			shared(events.map((event) => event.type)),
			shared(failed.map((event) => String(event.error_code))),
			shared(quarantineReasons.map(reasonPath)),
		],
		doubles: [
			counts.received,
			counts.stored,
			counts.duplicates,
			counts.quarantined,
			Math.max(0, failed.length - notStored),
		],
	};
}

/** "none" for an attempt that got no answer (network error, timeout). */
function failureStatus(attempt: SettledAttempt): string {
	return attempt.httpStatus === null ? "none" : String(attempt.httpStatus);
}

/**
 * One consumer batch: index1 = its destination ("mixed" when it held several); blob1 "deliveries",
 * blob2 the same, blob3 the HTTP status its failed and dead attempts got ("none": no answer; "" when
 * none failed; "mixed"); double1 attempts settled, double2 delivered, double3 failed (to be
 * retried), double4 dead, double5 skipped, double6 POSTs made, double7 their latency summed (ms),
 * double8 the slowest (ms), double9 first attempts, double10..14 POSTs within 250 ms, 1 s, 3 s,
 * 10 s, and slower. Null for a batch that settled nothing.
 */
export function deliveriesPoint(attempts: readonly SettledAttempt[]): AnalyticsEngineDataPoint | null {
	if (attempts.length === 0) return null;
	const count = (outcome: string) => attempts.filter((attempt) => attempt.outcome === outcome).length;
	const latencies = attempts.flatMap((attempt) => (attempt.durationMs === null ? [] : [attempt.durationMs]));
	const buckets = [...LATENCY_BUCKETS_MS, Number.POSITIVE_INFINITY].map(
		(bound, index, bounds) =>
			latencies.filter((ms) => ms <= bound && (index === 0 || ms > (bounds[index - 1] as number))).length,
	);
	const destination = clipToBytes(shared(attempts.map((attempt) => attempt.destination)));
	const failing = attempts.filter((attempt) => attempt.outcome === "failed" || attempt.outcome === "dead");
	return {
		indexes: [destination],
		blobs: ["deliveries", destination, shared(failing.map(failureStatus))],
		doubles: [
			attempts.length,
			count("delivered"),
			count("failed"),
			count("dead"),
			count("skipped"),
			latencies.length,
			latencies.reduce((sum, ms) => sum + ms, 0),
			Math.max(0, ...latencies),
			attempts.filter((attempt) => attempt.attempt <= 1).length,
			...buckets,
		],
	};
}
