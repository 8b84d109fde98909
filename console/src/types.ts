import type * as v from "valibot";
import type { InsightsResponseSchema } from "../../src/routes/insights-responses";
import type {
	CloudEventSchema,
	DeliverySchema,
	DeliveryStateSchema,
	DeliveryStatusResponseSchema,
	DestinationsResponseSchema,
	HealthResponseSchema,
	MediaResponseSchema,
	MessageResponseSchema,
	QuarantineItemSchema,
	ReplayResponseSchema,
	ReprocessResponseSchema,
	StatsResponseSchema,
} from "../../src/routes/responses";

/*
 * The admin API's answers, typed from the very schemas the OpenAPI document is generated from
 * (src/routes/responses.ts): the console has no copy of them to drift.
 */

export interface Page<TItem> {
	items: TItem[];
	nextCursor: string | null;
}

export type Health = v.InferOutput<typeof HealthResponseSchema>;
export type Stats = v.InferOutput<typeof StatsResponseSchema>;
export type CloudEvent = v.InferOutput<typeof CloudEventSchema>;
export type Delivery = v.InferOutput<typeof DeliverySchema>;
export type MediaView = v.InferOutput<typeof MediaResponseSchema>;
export type Destinations = v.InferOutput<typeof DestinationsResponseSchema>;
export type MessageView = v.InferOutput<typeof MessageResponseSchema>;
export type QuarantineItem = v.InferOutput<typeof QuarantineItemSchema>;
export type ReprocessResult = v.InferOutput<typeof ReprocessResponseSchema>;
export type ReplayResult = v.InferOutput<typeof ReplayResponseSchema>;
export type Destination = Destinations["items"][number];
export type DeliveryState = v.InferOutput<typeof DeliveryStateSchema>;
export type EventDeliveries = v.InferOutput<typeof DeliveryStatusResponseSchema>["items"][number];
export type Insights = v.InferOutput<typeof InsightsResponseSchema>;
