import * as v from "valibot";
import { NORMALIZED_TYPES } from "../bandwidth/event-types";
import { DELIVERY_OUTCOMES } from "../db/delivery-outcomes";
import { ErasureReportSchema } from "../erase/erasure-counts";
import { MediaCopySchema } from "../media/media-copies";
import { DELIVERY_STATES } from "./admin/delivery-states";

/*
 * The shapes the admin API answers, as valibot schemas. Nothing validates a response at run time;
 * the OpenAPI document is generated from these (and the routes' own input schemas), test/openapi
 * checks real answers against that document, and the console (console/src/types.ts) takes its
 * types from here. So this module imports nothing that needs the Workers runtime.
 */

export const Count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
export const Timestamp = v.pipe(v.string(), v.description("RFC 3339, UTC"));

/** Every rejection (src/http/errors.ts). */
export const ErrorBodySchema = v.pipe(
	v.strictObject({
		error: v.strictObject({
			code: v.pipe(v.string(), v.description("stable, to branch on: invalid_parameter, not_found, …")),
			message: v.string(),
		}),
	}),
	v.title("Error"),
);

/**
 * Present only when some of the answer's events are stored in D1 but their body could not be
 * read (a damaged row, logged as `d1_event_unreadable`): they are left out, and named here, so one
 * bad row never fails the answer around it.
 */
export const UnreadableEventIdsSchema = v.optional(
	v.pipe(
		v.array(v.string()),
		v.description("ids of events left out of this answer because their stored body could not be read"),
	),
);

/** The `unreadableEventIds` field of an answer: absent while every event could be read. */
export function unreadableField(ids: readonly string[]): { unreadableEventIds?: string[] } {
	return ids.length === 0 ? {} : { unreadableEventIds: [...ids] };
}

/** A list: `items`, then `nextCursor` to pass back as `cursor` (null on the last page). */
export function pageSchema<TItem extends v.GenericSchema>(item: TItem) {
	return v.strictObject({ items: v.array(item), nextCursor: v.nullable(v.string()) });
}

const MessageErrorSchema = v.object({
	code: v.number(),
	name: v.nullable(v.string()),
	description: v.nullable(v.string()),
	category: v.string(),
	billable: v.nullable(v.boolean()),
	retryable: v.boolean(),
});

/** The event as it was forwarded (src/bandwidth/normalize.ts). */
export const CloudEventSchema = v.pipe(
	v.object({
		specversion: v.literal("1.0"),
		id: v.string(),
		source: v.string(),
		type: v.picklist(NORMALIZED_TYPES),
		subject: v.string(),
		time: Timestamp,
		datacontenttype: v.literal("application/json"),
		data: v.object({
			messageId: v.string(),
			sequence: Count,
			status: v.nullable(v.string()),
			direction: v.nullable(v.picklist(["inbound", "outbound"])),
			recipient: v.string(),
			from: v.nullable(v.string()),
			to: v.array(v.string()),
			owner: v.nullable(v.string()),
			applicationId: v.nullable(v.string()),
			text: v.string(),
			media: v.array(v.string()),
			segmentCount: v.nullable(v.number()),
			tag: v.nullable(v.string()),
			priority: v.nullable(v.string()),
			channel: v.nullable(v.string()),
			carrierName: v.nullable(v.string()),
			error: v.nullable(MessageErrorSchema),
			messageTime: v.nullable(v.string()),
			receivedAt: Timestamp,
			bandwidth: v.pipe(v.unknown(), v.description("the element exactly as Bandwidth sent it")),
		}),
	}),
	v.title("CloudEvent"),
);

/** One forward attempt (src/db/deliveries.repository.ts), or a first try (src/db/attempts.repository.ts). */
export const DeliverySchema = v.strictObject({
	id: v.pipe(
		v.nullable(Count),
		v.description("the deliveries row; null for a first try, recorded with its consumer batch's other first tries"),
	),
	eventId: v.string(),
	/** "none": the event matched no destination (or the queue message could not be read). */
	destination: v.string(),
	attempt: Count,
	outcome: v.picklist(DELIVERY_OUTCOMES),
	httpStatus: v.nullable(v.number()),
	error: v.nullable(v.string()),
	durationMs: v.nullable(v.number()),
	at: Timestamp,
	nextAttemptAt: v.pipe(
		v.nullable(Timestamp),
		v.description("a failed attempt's next try; a replay's claim held by its destination's gate: held until"),
	),
});

const HoldReasonSchema = v.picklist(["paused", "breaker", "rate", "concurrency"]);

/** Where one delivery of an event stands now (src/routes/admin/delivery-state.ts). */
export const DeliveryStateSchema = v.strictObject({
	destination: v.string(),
	state: v.pipe(
		v.picklist(DELIVERY_STATES),
		v.description(
			"delivered, skipped, dead: settled; retrying: the next try at nextAttemptAt; held: its gate holds it (hold); queued: not attempted yet",
		),
	),
	attempts: Count,
	last: v.nullable(DeliverySchema),
	nextAttemptAt: v.nullable(Timestamp),
	hold: v.nullable(
		v.strictObject({
			reason: HoldReasonSchema,
			since: Timestamp,
			nextProbeAt: v.nullable(Timestamp),
		}),
	),
});

/** GET /v1/deliveries/status: per event, where each of its deliveries stands. */
export const DeliveryStatusResponseSchema = v.strictObject({
	items: v.array(
		v.strictObject({
			eventId: v.string(),
			messageId: v.string(),
			type: v.string(),
			recipient: v.string(),
			errorCode: v.nullable(v.number()),
			receivedAt: Timestamp,
			deliveries: v.array(DeliveryStateSchema),
		}),
	),
});

export const RecipientStatusSchema = v.strictObject({
	recipient: v.string(),
	status: v.string(),
	lastEventId: v.string(),
	errorCode: v.nullable(v.number()),
	updatedAt: Timestamp,
});

export const QuarantineItemSchema = v.strictObject({
	id: v.string(),
	receivedAt: Timestamp,
	reason: v.string(),
	raw: v.pipe(v.unknown(), v.description("the element as parsed, or its truncated form")),
	reprocessedAt: v.nullable(v.string()),
	reprocessOutcome: v.nullable(v.string()),
});

export const ArchiveItemSchema = v.strictObject({
	key: v.string(),
	events: v.nullable(Count),
	bytes: v.pipe(v.nullable(Count), v.description("uncompressed NDJSON bytes")),
	size: v.pipe(Count, v.description("stored (gzip) bytes")),
	uploaded: Timestamp,
});

/** How full D1 is and how far back its events go (src/maintenance/enforce-budget.ts). */
export const D1StorageSchema = v.strictObject({
	sizeBytes: Count,
	budgetBytes: Count,
	historyFrom: v.nullable(v.string()),
});

/** What one erasure call removed (src/erase/erasure-counts.ts). */
export { ErasureReportSchema };

const Tally = v.record(v.string(), v.number());

/** GET /v1/stats. */
export const StatsResponseSchema = v.strictObject({
	since: v.string(),
	events: v.strictObject({ total: v.number(), byType: Tally, byStatus: Tally, byErrorCode: Tally }),
	quarantined: v.number(),
	dead: v.number(),
	storage: v.strictObject({ d1: D1StorageSchema }),
});

/** GET /health, 200 and 503. */
export const HealthResponseSchema = v.strictObject({
	status: v.picklist(["ok", "degraded"]),
	d1: v.picklist(["ok", "unreachable"]),
	config: v.picklist(["ok", "config_invalid"]),
	version: v.string(),
	storage: v.nullable(v.strictObject({ d1: D1StorageSchema })),
});

/** GET /v1/messages/:messageId. */
export const MessageResponseSchema = v.strictObject({
	messageId: v.string(),
	recipients: v.array(RecipientStatusSchema),
	events: v.array(CloudEventSchema),
	deliveries: v.array(DeliverySchema),
	nextCursor: v.nullable(v.string()),
	unreadableEventIds: UnreadableEventIdsSchema,
});

/** POST /v1/quarantine/:id/reprocess. */
export const ReprocessResponseSchema = v.strictObject({
	id: v.string(),
	outcome: v.picklist(["stored", "duplicate", "still_invalid"]),
	reason: v.optional(v.string()),
	eventId: v.optional(v.string()),
	reprocessedAt: v.optional(v.string()),
	repeated: v.optional(v.literal(true)),
});

/** POST /v1/replay. */
export const ReplayResponseSchema = v.strictObject({
	enqueued: v.number(),
	truncated: v.boolean(),
	unreadableEventIds: UnreadableEventIdsSchema,
});

/** GET /v1/media/:messageId (src/routes/admin/media.route.ts). */
export const MediaResponseSchema = v.object({
	messageId: v.string(),
	/** One per media URL of the inbound message, in its order; each copied one with a fresh link. */
	items: v.array(MediaCopySchema),
});

/** One destination as GET /v1/destinations shows it (src/destinations). */
export const DestinationStatusSchema = v.strictObject({
	name: v.string(),
	url: v.string(),
	filters: v.strictObject({
		applicationIds: v.nullable(v.array(v.string())),
		owners: v.nullable(v.array(v.string())),
		types: v.nullable(v.array(v.string())),
		directions: v.nullable(v.array(v.string())),
	}),
	maxPerSecond: v.nullable(v.number()),
	maxConcurrency: v.nullable(v.number()),
	timeoutMs: Count,
	/** Null when its gate could not be asked. */
	breaker: v.nullable(v.picklist(["closed", "open", "half-open"])),
	paused: v.nullable(v.boolean()),
	pausedBy: v.nullable(v.literal("operator")),
	pausedAt: v.nullable(Timestamp),
	consecutiveFailures: v.nullable(Count),
	nextProbeAt: v.nullable(Timestamp),
	lastSuccessAt: v.nullable(Timestamp),
	lastFailureAt: v.nullable(Timestamp),
	lastError: v.nullable(v.string()),
	/** Events held back (pause, breaker, rate limit) and not let through yet. */
	backlog: v.nullable(Count),
	backlogSince: v.pipe(v.nullable(Timestamp), v.description("since when the longest-held of them has waited")),
	/** Over the last 15 minutes: attempts made and the share that failed. */
	recentAttempts: v.nullable(Count),
	recentFailureRate: v.nullable(v.number()),
	/** Attempts let through per second, over the last minute or so. */
	currentRate: v.nullable(v.number()),
	hourly: v.pipe(
		v.nullable(v.array(v.strictObject({ hour: Timestamp, attempts: Count, failed: Count }))),
		v.description("attempts and failures per hour, the last 24 hours, oldest first (as reported to its gate)"),
	),
});

export const DestinationsResponseSchema = v.strictObject({ items: v.array(DestinationStatusSchema) });

/** Named in the document's components, so that a generated client has a type for each. */
export const NAMED_SCHEMAS = {
	Error: ErrorBodySchema,
	CloudEvent: CloudEventSchema,
	Delivery: DeliverySchema,
	DeliveryState: DeliveryStateSchema,
	DestinationStatus: DestinationStatusSchema,
	RecipientStatus: RecipientStatusSchema,
	QuarantineItem: QuarantineItemSchema,
	ArchiveItem: ArchiveItemSchema,
	D1Storage: D1StorageSchema,
	ErasureReport: ErasureReportSchema,
} satisfies Record<string, v.GenericSchema>;
