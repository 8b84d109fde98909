import { describeErrorCode, type MessageError } from "./error-codes";
import type { EventTypeInfo, MessageStatus, NormalizedType } from "./event-types";
import type { EventBase } from "./schemas";
import { isRfc3339 } from "./timestamp";

export type Direction = "inbound" | "outbound";

/** The CloudEvent a customer receives (DESIGN §5). `data.sequence` is filled in by the ledger. */
export interface NormalizedEvent {
	specversion: "1.0";
	id: string;
	source: string;
	type: NormalizedType;
	subject: string;
	time: string;
	datacontenttype: "application/json";
	data: {
		messageId: string;
		sequence: number;
		status: MessageStatus | null;
		direction: Direction | null;
		recipient: string;
		from: string | null;
		to: string[];
		owner: string | null;
		applicationId: string | null;
		text: string;
		media: string[];
		segmentCount: number | null;
		tag: string | null;
		priority: string | null;
		channel: string | null;
		carrierName: string | null;
		error: MessageError | null;
		messageTime: string | null;
		receivedAt: string;
		bandwidth: unknown;
	};
}

export interface NormalizeInput {
	id: string;
	/** The element after validation; for an unknown type only the base fields are trusted. */
	element: EventBase & { errorCode?: number | null | undefined };
	/** The element exactly as parsed from the body, forwarded untouched. */
	raw: unknown;
	info: EventTypeInfo;
	receivedAt: string;
}

/** An unknown type may carry any string here, "__proto__" included: compare, never index. */
function directionOf(direction: string | undefined): Direction | null {
	if (direction === "in") return "inbound";
	if (direction === "out") return "outbound";
	return null;
}

/** Known types always have a valid envelope time; an unknown type may not, and still needs one. */
function eventTimeOf(element: EventBase, receivedAt: string): string {
	if (element.time !== undefined && isRfc3339(element.time)) return element.time;
	if (element.message.time !== undefined && isRfc3339(element.message.time)) {
		return element.message.time;
	}
	return receivedAt;
}

export function normalizeEvent({ id, element, raw, info, receivedAt }: NormalizeInput): NormalizedEvent {
	const message = element.message;
	const applicationId = message.applicationId ?? null;
	const errorCode = info.status === "failed" ? element.errorCode : undefined;
	return {
		specversion: "1.0",
		id,
		source: `bandwidth:application:${applicationId ?? "unknown"}`,
		type: info.type,
		subject: message.id,
		time: eventTimeOf(element, receivedAt),
		datacontenttype: "application/json",
		data: {
			messageId: message.id,
			sequence: 0,
			status: info.status,
			direction: directionOf(message.direction),
			recipient: element.to ?? "",
			from: message.from ?? null,
			to: message.to ?? [],
			owner: message.owner ?? null,
			applicationId,
			text: message.text ?? "",
			media: message.media ?? [],
			segmentCount: message.segmentCount ?? null,
			tag: message.tag ?? null,
			priority: message.priority ?? null,
			channel: message.channel ?? null,
			carrierName: element.carrierName ?? null,
			error: errorCode == null ? null : describeErrorCode(errorCode),
			messageTime: message.time ?? null,
			receivedAt,
			bandwidth: raw,
		},
	};
}
