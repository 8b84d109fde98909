import type { Random } from "./random.ts";

/*
 * Bandwidth callback elements shaped like the published samples (test/fixtures/bandwidth/):
 * envelope `time, type, to, description, [errorCode], [carrierName], message`, message
 * `id, owner, applicationId, time, segmentCount, direction, to, from, text, [media], [tag]`.
 */

export type StatusType = "message-sending" | "message-sent" | "message-delivered" | "message-failed";
export type EventType = "message-received" | StatusType;

export interface MessageShape {
	id: string;
	owner: string;
	applicationId: string;
	time: string;
	direction: "in" | "out";
	to: string[];
	from: string;
	text: string;
	media: string[] | null;
	tag: string | null;
}

export interface BandwidthElement {
	time: string;
	type: EventType;
	to: string;
	description: string;
	errorCode?: number;
	carrierName?: string;
	message: Record<string, unknown>;
}

/** Real codes from Bandwidth's table (test/fixtures/error-codes.tsv) and the description it sends with each. */
export const FAILURES = [
	{ code: 4432, description: "forbidden to country" },
	{ code: 4470, description: "rejected-spam-detected" },
	{ code: 4775, description: "destination-rejected-due-to-user-opt-out" },
	{ code: 5620, description: "destination-app-error" },
	{ code: 4405, description: "rejected-unallocated-from-number" },
	{ code: 9902, description: "delivery-receipt-expired" },
] as const;
export const DLR_TIMEOUT = 9902;

const DESCRIPTIONS: Record<Exclude<EventType, "message-failed">, readonly string[]> = {
	"message-received": ["Incoming message received"],
	"message-sending": ["Message is sending to carrier", "Message is sending to carrier."],
	"message-sent": ["Message sent to carrier"],
	"message-delivered": ["Message delivered to carrier", "Message delivered to handset.", "ok"],
};
const CARRIERS = ["AT&T", "T-Mobile", "Verizon Wireless"];
const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** 13-digit epoch milliseconds + 16 lowercase alphanumerics, like every id Bandwidth publishes. */
export function messageIdAt(random: Random, epochMs: number): string {
	return `${epochMs}${random.chars(16, ID_ALPHABET)}`;
}

export function phoneNumber(random: Random, areaCode: string): string {
	return `+1${areaCode}${random.int(200, 999)}${random.chars(4, "0123456789")}`;
}

export function applicationId(random: Random): string {
	const hex = (length: number) => random.chars(length, "0123456789abcdef");
	return `${hex(8)}-${hex(4)}-4${hex(3)}-${random.pick(["8", "9", "a", "b"])}${hex(3)}-${hex(12)}`;
}

/** Bandwidth's timestamps come with seconds, milliseconds or microseconds; any of them, at random. */
export function timestamp(random: Random, epochMs: number): string {
	const iso = new Date(epochMs).toISOString();
	switch (random.int(0, 3)) {
		case 0:
			return `${iso.slice(0, 19)}Z`;
		case 1:
			return iso;
		default:
			return `${iso.slice(0, 23)}${random.chars(3, "0123456789")}Z`;
	}
}

export const BANDWIDTH_MEDIA_BASE = "https://messaging.bandwidth.com";

/** `base`: Bandwidth's media host, or the local stand-in that `npm start` runs. */
export function mediaUrl(messageId: string, index: number, file: string, base = BANDWIDTH_MEDIA_BASE): string {
	return `${base}/api/v2/users/9900902/media/${messageId}/${index}/${file}`;
}

function messageBody(shape: MessageShape): Record<string, unknown> {
	const text = shape.direction === "out" ? "" : shape.text;
	const body: Record<string, unknown> = {
		id: shape.id,
		owner: shape.owner,
		applicationId: shape.applicationId,
		time: shape.time,
		segmentCount: shape.media === null ? Math.max(1, Math.ceil(shape.text.length / 160)) : 1,
		direction: shape.direction,
		to: shape.to,
		from: shape.from,
		text,
	};
	if (shape.media !== null) body.media = shape.media;
	if (shape.tag !== null) body.tag = shape.tag;
	return body;
}

export interface ElementOptions {
	type: EventType;
	/** The envelope `to`: the recipient (status) or the owned number (inbound) this event is about. */
	recipient: string;
	time: string;
	errorCode?: number;
}

export function element(random: Random, shape: MessageShape, options: ElementOptions): BandwidthElement {
	const failed = options.type === "message-failed";
	const description = failed
		? (FAILURES.find((failure) => failure.code === options.errorCode)?.description ?? "message-failed")
		: random.pick(DESCRIPTIONS[options.type as Exclude<EventType, "message-failed">]);
	return {
		time: options.time,
		type: options.type,
		to: options.recipient,
		description,
		...(failed && options.errorCode !== undefined ? { errorCode: options.errorCode } : {}),
		// carrierName appears only on accounts with the feature enabled.
		...(random.chance(0.3) ? { carrierName: random.pick(CARRIERS) } : {}),
		message: messageBody(shape),
	};
}
