import type { BandwidthEventType } from "./schemas";

/**
 * Per (message, recipient) a status only moves up this ladder. delivered and failed share a rung:
 * Bandwidth sends one or the other, and the first terminal answer stands.
 */
export const STATUS_RANK = {
	received: 1,
	sending: 1,
	sent: 2,
	delivered: 3,
	failed: 3,
	read: 4,
} as const;
export type MessageStatus = keyof typeof STATUS_RANK;

export const NORMALIZED_TYPES = [
	"bandwidth.message.received",
	"bandwidth.message.sending",
	"bandwidth.message.sent",
	"bandwidth.message.delivered",
	"bandwidth.message.failed",
	"bandwidth.message.read",
	"bandwidth.message.suggestion_response",
	"bandwidth.message.location_response",
	"bandwidth.message.unknown",
] as const;
export type NormalizedType = (typeof NORMALIZED_TYPES)[number];

export interface EventTypeInfo {
	type: NormalizedType;
	/** What this event says about its recipient; null when it says nothing about delivery. */
	status: MessageStatus | null;
}

export const EVENT_TYPES: Record<BandwidthEventType, EventTypeInfo> = {
	"message-received": { type: "bandwidth.message.received", status: "received" },
	"message-sending": { type: "bandwidth.message.sending", status: "sending" },
	"message-sent": { type: "bandwidth.message.sent", status: "sent" },
	"message-delivered": { type: "bandwidth.message.delivered", status: "delivered" },
	"message-failed": { type: "bandwidth.message.failed", status: "failed" },
	"message-read": { type: "bandwidth.message.read", status: "read" },
	"suggestion-response": { type: "bandwidth.message.suggestion_response", status: "received" },
	"requested-location-response": { type: "bandwidth.message.location_response", status: "received" },
	"request-location-response": { type: "bandwidth.message.location_response", status: "received" },
	"location-request-response": { type: "bandwidth.message.location_response", status: "received" },
};

export const UNKNOWN_EVENT_TYPE: EventTypeInfo = { type: "bandwidth.message.unknown", status: null };
