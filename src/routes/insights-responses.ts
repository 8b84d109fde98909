import * as v from "valibot";
import { Count, Timestamp } from "./responses";

const Rate = v.pipe(
	v.nullable(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
	v.description("delivered ÷ (delivered + failed); null without receipts"),
);

/** Outbound and inbound counts of one period, application or number (src/insights). */
const InsightCountsSchema = v.strictObject({
	sent: Count,
	delivered: Count,
	failed: Count,
	deliveryRate: Rate,
	received: Count,
});

const InsightErrorCodeSchema = v.strictObject({
	code: v.pipe(Count, v.description("Bandwidth's errorCode; 0 for a message-failed that came without one")),
	name: v.nullable(v.string()),
	description: v.nullable(v.string()),
	category: v.string(),
	count: Count,
	remediation: v.pipe(v.nullable(v.string()), v.description("what to do, from Bandwidth's error table")),
});

/** GET /v1/insights. */
export const InsightsResponseSchema = v.strictObject({
	since: Timestamp,
	until: Timestamp,
	granularity: v.picklist(["hour", "day"]),
	totals: v.strictObject({
		...InsightCountsSchema.entries,
		receivedSms: Count,
		receivedMms: Count,
		latencyMs: v.strictObject({
			p50: v.nullable(v.number()),
			p95: v.nullable(v.number()),
			deliveries: v.pipe(Count, v.description("deliveries the percentiles are over")),
		}),
		errorCodes: v.array(InsightErrorCodeSchema),
	}),
	series: v.array(v.strictObject({ start: Timestamp, ...InsightCountsSchema.entries })),
	numbers: v.pipe(
		v.array(v.strictObject({ owner: v.string(), ...InsightCountsSchema.entries })),
		v.description("the Bandwidth numbers with the most failures, at most 10"),
	),
	applications: v.pipe(
		v.array(v.strictObject({ applicationId: v.string(), ...InsightCountsSchema.entries })),
		v.description("the applications with the most messages, at most 20"),
	),
});
