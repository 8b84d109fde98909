/*
 * The admin API's answers, as the console reads them (README "Admin API"; src/routes/admin). Only
 * the fields the pages show are typed.
 */

export interface Page<TItem> {
	items: TItem[];
	nextCursor: string | null;
}

export interface D1Storage {
	sizeBytes: number;
	budgetBytes: number;
	historyFrom: string | null;
}

export interface Health {
	status: "ok" | "degraded";
	d1: "ok" | "unreachable";
	config: string;
	version: string;
	storage: { d1: D1Storage } | null;
}

export interface Stats {
	since: string;
	events: {
		total: number;
		byType: Record<string, number>;
		byStatus: Record<string, number>;
		byErrorCode: Record<string, number>;
	};
	quarantined: number;
	dead: number;
	storage: { d1: D1Storage };
}

export interface CloudEvent {
	id: string;
	type: string;
	time: string;
	subject: string;
	data: {
		messageId: string;
		sequence: number;
		status: string | null;
		direction: string | null;
		recipient: string | null;
		from: string | null;
		error: { code: number; name?: string; description?: string } | null;
		receivedAt?: string;
	};
}

export interface Delivery {
	id: number;
	eventId: string;
	attempt: number;
	outcome: "delivered" | "failed" | "dead" | "skipped" | "replayed";
	httpStatus: number | null;
	error: string | null;
	durationMs: number | null;
	at: string;
}

export interface RecipientStatus {
	recipient: string;
	status: string;
	lastEventId: string;
	errorCode: number | null;
	updatedAt: string;
}

export interface MessageView {
	messageId: string;
	recipients: RecipientStatus[];
	events: CloudEvent[];
	deliveries: Delivery[];
	nextCursor: string | null;
}

export interface QuarantineItem {
	id: string;
	receivedAt: string;
	reason: string;
	raw: unknown;
	reprocessedAt: string | null;
	reprocessOutcome: string | null;
}

export interface ReprocessResult {
	id: string;
	outcome: "stored" | "duplicate" | "still_invalid";
	reason?: string;
	eventId?: string;
	reprocessedAt?: string;
	repeated?: boolean;
}

export interface ReplayResult {
	enqueued: number;
	truncated: boolean;
}

/** NORMALIZED_TYPES in src/bandwidth/event-types.ts: the values GET /v1/events accepts as `type`. */
export const EVENT_TYPES = [
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
