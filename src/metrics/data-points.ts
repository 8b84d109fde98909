/*
 * Workers Analytics Engine data points, one layout per kind (docs/metrics.md lists every column).
 * blob1 is always the kind, so one dataset answers every question with a `WHERE blob1 = …`; index1
 * is the dimension on-call filters by (and AE samples by); doubles hold what is summed or ranked.
 * Pure functions: the writer (record-metrics.ts) decides whether anything is written at all.
 */

export type MetricKind = "callback" | "delivery" | "quarantine";

/** What one accepted callback did (IngestCounts in src/ingest/ingest-batch.ts). */
export interface CallbackCounts {
	received: number;
	stored: number;
	duplicates: number;
	quarantined: number;
}

/** One delivery attempt, as the consumer settled it and as the event describes itself. */
export interface DeliveryAttempt {
	/** The routing target; "default" (FORWARD_URL) until destinations exist. */
	destination: string;
	outcome: string;
	httpStatus: number | null;
	/** Null when no POST was made (skipped, misconfigured, event gone). */
	latencyMs: number | null;
	attempt: number;
	eventType: string | null;
	applicationId: string | null;
	/** The Bandwidth error code a `message-failed` event carries. */
	errorCode: number | null;
}

/** A callback whose events name several applications; Bandwidth sends one event a callback. */
export const MIXED_APPLICATIONS = "mixed";

/** AE refuses an index over 96 bytes; an application id may be up to 128 characters. */
export const MAX_INDEX_BYTES = 96;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function clipToBytes(value: string, maxBytes: number = MAX_INDEX_BYTES): string {
	const bytes = encoder.encode(value);
	if (bytes.byteLength <= maxBytes) return value;
	// A cut inside a multi-byte character decodes to U+FFFD: drop it rather than index a broken one.
	return decoder.decode(bytes.subarray(0, maxBytes)).replace(/\uFFFD+$/, "");
}

/**
 * index1 = application id ("" with no event, "mixed" for several); blob1 "callback", blob2 the same
 * id; double1..4 = received, stored, duplicates, quarantined.
 */
export function callbackPoint(counts: CallbackCounts, applicationId: string | null): AnalyticsEngineDataPoint {
	const application = clipToBytes(applicationId ?? "");
	return {
		indexes: [application],
		blobs: ["callback", application],
		doubles: [counts.received, counts.stored, counts.duplicates, counts.quarantined],
	};
}

/**
 * index1 = destination; blob1 "delivery", blob2 destination, blob3 outcome, blob4 HTTP status ("" if
 * none), blob5 Bandwidth error code ("" if none), blob6 event type, blob7 application id;
 * double1 = 1 (the attempt), double2 latency ms, double3 attempt number, double4 HTTP status (0 if
 * none), double5 = 1 when a POST was made (latency is meaningful), else 0.
 */
export function deliveryPoint(attempt: DeliveryAttempt): AnalyticsEngineDataPoint {
	const destination = clipToBytes(attempt.destination);
	const posted = attempt.latencyMs !== null;
	return {
		indexes: [destination],
		blobs: [
			"delivery",
			destination,
			attempt.outcome,
			attempt.httpStatus === null ? "" : String(attempt.httpStatus),
			attempt.errorCode === null ? "" : String(attempt.errorCode),
			attempt.eventType ?? "",
			clipToBytes(attempt.applicationId ?? ""),
		],
		doubles: [1, attempt.latencyMs ?? 0, attempt.attempt, attempt.httpStatus ?? 0, posted ? 1 : 0],
	};
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

/** index1 = the failing path; blob1 "quarantine", blob2 the path; double1 = elements (1, or a remainder). */
export function quarantinePoint(path: string, elements: number): AnalyticsEngineDataPoint {
	return { indexes: [path], blobs: ["quarantine", path], doubles: [elements] };
}

/**
 * One point per quarantined element, at most `maxPoints` (AE takes 250 points per invocation and a
 * callback holds up to 1,000 elements); past that, the rest are summed per path into the last
 * points, so the element count stays exact.
 */
export function quarantinePoints(reasons: readonly string[], maxPoints: number): AnalyticsEngineDataPoint[] {
	if (reasons.length <= maxPoints) return reasons.map((reason) => quarantinePoint(reasonPath(reason), 1));
	const individual = Math.max(0, maxPoints - 1);
	const points = reasons.slice(0, individual).map((reason) => quarantinePoint(reasonPath(reason), 1));
	const rest = new Map<string, number>();
	for (const reason of reasons.slice(individual)) {
		const path = reasonPath(reason);
		rest.set(path, (rest.get(path) ?? 0) + 1);
	}
	// Usually one path (a flood of one mistake); a remainder of many paths shares one point.
	if (rest.size === 1) {
		const [[path, count]] = [...rest] as [[string, number]];
		points.push(quarantinePoint(path, count));
	} else points.push(quarantinePoint("mixed", reasons.length - individual));
	return points;
}

/** The one application a callback's events name, "mixed" for several, null for none. */
export function applicationOf(applicationIds: Iterable<string | null>): string | null {
	let found: string | null = null;
	for (const id of applicationIds) {
		if (id === null || id === found) continue;
		if (found !== null) return MIXED_APPLICATIONS;
		found = id;
	}
	return found;
}
