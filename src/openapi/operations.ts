import { ReplayRequestSchema } from "../forward/replay";
import { ArchiveListQuerySchema, ArchiveListResponseSchema, ArchiveParamsSchema } from "../routes/admin/archive.route";
import {
	DeliveriesQuerySchema,
	DeliveriesResponseSchema,
	DeliveryStatusQuerySchema,
} from "../routes/admin/deliveries.route";
import { DestinationParamsSchema } from "../routes/admin/destinations.route";
import {
	EraseMessageParamsSchema,
	EraseMessageQuerySchema,
	ErasePhoneNumberBodySchema,
	ErasureResponseSchema,
} from "../routes/admin/erase.route";
import { EventsQuerySchema, EventsResponseSchema } from "../routes/admin/events.route";
import { InsightsQuerySchema } from "../routes/admin/insights.route";
import { MediaParamsSchema } from "../routes/admin/media.route";
import { MessageParamsSchema, MessageQuerySchema } from "../routes/admin/messages.route";
import { MeterResetResponseSchema, MeterResponseSchema } from "../routes/admin/meter.route";
import {
	QuarantineParamsSchema,
	QuarantineQuerySchema,
	QuarantineResponseSchema,
} from "../routes/admin/quarantine.route";
import { StatsQuerySchema } from "../routes/admin/stats.route";
import { InsightsResponseSchema } from "../routes/insights-responses";
import {
	DeliveryStatusResponseSchema,
	DestinationStatusSchema,
	DestinationsResponseSchema,
	ErrorBodySchema,
	HealthResponseSchema,
	MediaResponseSchema,
	MessageResponseSchema,
	ReplayResponseSchema,
	ReprocessResponseSchema,
	StatsResponseSchema,
} from "../routes/responses";
import { errors, OpenApiDocumentSchema, type Operation, type ResponseSpec } from "./operation";

/*
 * The registry of documented routes: one entry per method and path the app mounts under /v1, and
 * /health. Each entry names the very schemas its route validates its input with, and the schemas
 * of its answers; src/openapi/document.ts turns them into the OpenAPI document. test/openapi
 * compares this list with the routes Hono actually holds, so a route added without an entry fails.
 */

const ARCHIVE_NOT_FOUND: ResponseSpec = {
	description: "`not_found`, or `archive_not_configured` when no ARCHIVE bucket is bound",
	schema: ErrorBodySchema,
};

/** POST /v1/destinations/:name/pause, …/resume and …/probe: the same shape, one verb apart. */
function destinationAction(action: "pause" | "resume" | "probe", summary: string, conflict?: string): Operation {
	const responses: Record<number, ResponseSpec> = {
		200: { description: "the destination", schema: DestinationStatusSchema },
		...errors(400, 401, 404, 503),
	};
	if (conflict !== undefined) responses[409] = { description: conflict, schema: ErrorBodySchema };
	return {
		method: "post",
		path: `/v1/destinations/:name/${action}`,
		operationId: `${action}Destination`,
		summary,
		auth: true,
		params: DestinationParamsSchema,
		responses,
	};
}

export const OPERATIONS: readonly Operation[] = [
	{
		method: "get",
		path: "/health",
		operationId: "getHealth",
		summary: "Liveness and D1 reachability",
		description: "No auth. `config_invalid` (still 200) when a setting is invalid; which one is in the log.",
		auth: false,
		responses: {
			200: { description: "D1 answers", schema: HealthResponseSchema },
			503: { description: "D1 is unreachable", schema: HealthResponseSchema },
		},
	},
	{
		method: "get",
		path: "/v1/openapi.json",
		operationId: "getOpenApiDocument",
		summary: "This document",
		auth: true,
		responses: { 200: { description: "OpenAPI 3.1", schema: OpenApiDocumentSchema }, ...errors(401) },
	},
	{
		method: "get",
		path: "/v1/messages/:messageId",
		operationId: "getMessage",
		summary: "Status per recipient, events and delivery attempts of one message",
		description: "`limit` rows of each list per page; `cursor` resumes both. `nextCursor` is null when both are done.",
		auth: true,
		params: MessageParamsSchema,
		query: MessageQuerySchema,
		responses: { 200: { description: "the message", schema: MessageResponseSchema }, ...errors(400, 401, 404) },
	},
	{
		method: "delete",
		path: "/v1/messages/:messageId",
		operationId: "eraseMessage",
		summary: "Erase a message everywhere",
		description: "With `complete: false`, call again with `cursor`.",
		auth: true,
		params: EraseMessageParamsSchema,
		query: EraseMessageQuerySchema,
		responses: { 200: { description: "what was erased", schema: ErasureResponseSchema }, ...errors(400, 401, 503) },
	},
	{
		method: "get",
		path: "/v1/media/:messageId",
		operationId: "getMediaCopies",
		summary: "An inbound MMS's media copies, with fresh signed links",
		description:
			"Each link is valid for MEDIA_URL_TTL_HOURS from this call. 404 `media_not_configured` when no MEDIA bucket is bound.",
		auth: true,
		params: MediaParamsSchema,
		responses: {
			200: { description: "the copies", schema: MediaResponseSchema },
			...errors(400, 401, 404),
		},
	},
	{
		method: "get",
		path: "/v1/events",
		operationId: "listEvents",
		summary: "Search events, oldest (or newest) first",
		description:
			"`eventId` finds one event; `number` matches the sender, recipient or owner (not indexed: give `since` too).",
		auth: true,
		query: EventsQuerySchema,
		responses: { 200: { description: "a page of CloudEvents", schema: EventsResponseSchema }, ...errors(400, 401) },
	},
	{
		method: "get",
		path: "/v1/quarantine",
		operationId: "listQuarantine",
		summary: "Invalid elements with their reason and raw JSON, oldest first",
		auth: true,
		query: QuarantineQuerySchema,
		responses: {
			200: { description: "a page of quarantined elements", schema: QuarantineResponseSchema },
			...errors(400, 401),
		},
	},
	{
		method: "post",
		path: "/v1/quarantine/:id/reprocess",
		operationId: "reprocessQuarantined",
		summary: "Run a quarantined element through ingest again",
		auth: true,
		params: QuarantineParamsSchema,
		responses: {
			200: { description: "the outcome", schema: ReprocessResponseSchema },
			...errors(400, 401, 404, 500),
		},
	},
	{
		method: "get",
		path: "/v1/deliveries",
		operationId: "listDeliveries",
		summary: "Recorded forward attempts, in the order they were recorded",
		description:
			"With `eventId`, the first page also lists the event's first tries (`id` null). `current=true` (with `status=dead`) lists only deliveries dead now.",
		auth: true,
		query: DeliveriesQuerySchema,
		responses: { 200: { description: "a page of attempts", schema: DeliveriesResponseSchema }, ...errors(400, 401) },
	},
	{
		method: "get",
		path: "/v1/deliveries/status",
		operationId: "getDeliveryStatus",
		summary: "Where each delivery of some events stands: settled, retrying, held at its gate and why, or queued",
		description:
			"`eventIds`: up to 100, comma-separated. Events D1 no longer holds are left out. `messageIds` (optional, up to 100): the messages the events belong to, so D1 finds each by key; without it, an event no deliveries row names (one delivered at its first try) is looked for by a scan of every day table.",
		auth: true,
		query: DeliveryStatusQuerySchema,
		requiredQuery: ["eventIds"],
		responses: {
			200: { description: "per event, its deliveries", schema: DeliveryStatusResponseSchema },
			...errors(400, 401),
		},
	},
	{
		method: "get",
		path: "/v1/destinations",
		operationId: "listDestinations",
		summary: "Each destination with its filters, breaker, pause, backlog and recent rate",
		auth: true,
		responses: {
			200: { description: "the destinations", schema: DestinationsResponseSchema },
			...errors(401, 503),
		},
	},
	destinationAction("pause", "Hold a destination's events (kept, not sent) until it is resumed"),
	destinationAction("resume", "Let a paused destination's events go again; its backlog is sent back at once"),
	destinationAction(
		"probe",
		"Probe an open breaker now: a held event goes out as the probe",
		"`breaker_closed`: the breaker is closed, there is nothing to probe",
	),
	{
		method: "post",
		path: "/v1/replay",
		operationId: "replay",
		summary: "Re-enqueue events with their original ids",
		description: "At most 1,000 events a call; `truncated`: call again for the rest.",
		auth: true,
		body: ReplayRequestSchema,
		responses: {
			200: { description: "how many were enqueued", schema: ReplayResponseSchema },
			...errors(400, 401, 409, 413, 415, 503),
		},
	},
	{
		method: "post",
		path: "/v1/erase",
		operationId: "erasePhoneNumber",
		summary: "Erase everything a phone number sent, received or owns",
		description: "With `complete: false`, call again with the same number and `cursor`.",
		auth: true,
		body: ErasePhoneNumberBodySchema,
		responses: {
			200: { description: "what was erased", schema: ErasureResponseSchema },
			...errors(400, 401, 413, 415, 503),
		},
	},
	{
		method: "get",
		path: "/v1/stats",
		operationId: "getStats",
		summary: "Counts by type, status and error code; quarantined and dead totals; D1 storage",
		auth: true,
		query: StatsQuerySchema,
		responses: { 200: { description: "the counts", schema: StatsResponseSchema }, ...errors(400, 401) },
	},
	{
		method: "get",
		path: "/v1/insights",
		operationId: "getInsights",
		summary: "Delivery rate, error codes with what to do, latency and inbound counts, per hour or day",
		description:
			"Counted per (message, recipient) by the hour the messages were sent in (message.time), about a minute behind. `since` is rounded down to its hour; a window spans at most 31 days by hour, 400 by day.",
		auth: true,
		query: InsightsQuerySchema,
		responses: { 200: { description: "the insights", schema: InsightsResponseSchema }, ...errors(400, 401) },
	},
	{
		method: "get",
		path: "/v1/archive",
		operationId: "listArchive",
		summary: "One UTC day's archive objects, in key (time) order",
		description: "`404 archive_not_configured` when no ARCHIVE bucket is bound.",
		auth: true,
		query: ArchiveListQuerySchema,
		requiredQuery: ["date"],
		responses: {
			200: { description: "a page of objects", schema: ArchiveListResponseSchema },
			...errors(400, 401),
			404: ARCHIVE_NOT_FOUND,
		},
	},
	{
		method: "get",
		path: "/v1/archive/:key{.+}",
		operationId: "getArchiveObject",
		summary: "One archive object as stored: gzip NDJSON, one CloudEvent a line",
		description: "The key holds slashes (`events/YYYY/MM/DD/HH/….ndjson.gz`); send them unescaped.",
		auth: true,
		params: ArchiveParamsSchema,
		responses: { 200: { description: "the object", gzip: true }, ...errors(400, 401), 404: ARCHIVE_NOT_FOUND },
	},
	{
		method: "get",
		path: "/v1/meter",
		operationId: "getMeter",
		summary: "The cost meter's counts since the last reset",
		description: "Only where METER_ENDPOINT is `true` (benchmarks, tests); 404 elsewhere.",
		auth: true,
		responses: { 200: { description: "the counts", schema: MeterResponseSchema }, ...errors(401, 404) },
	},
	{
		method: "post",
		path: "/v1/meter/reset",
		operationId: "resetMeter",
		summary: "Reset the cost meter",
		description: "Only where METER_ENDPOINT is `true`; 404 elsewhere.",
		auth: true,
		responses: { 200: { description: "the new start", schema: MeterResetResponseSchema }, ...errors(401, 404) },
	},
];
