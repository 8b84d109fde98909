import type { MessageStatus } from "../bandwidth/event-types";
import { toUtcIso } from "../bandwidth/timestamp";
import { HOUR_MS } from "../ledger/partitions";

/*
 * What one accepted event adds to the deliverability counts: its "fact". It is decided once, in
 * the ledger's accept transaction — the one place that sees each event exactly once (duplicates
 * and Bandwidth's retries are dropped there, replays never pass through it) and that holds the
 * message's earlier events — from the event and what the message's earlier events decided.
 * Counted per (message, recipient):
 * - sent: the first message-sending or message-sent; a delivery with neither before it counts as
 *   sent too (Bandwidth sends message-sending for MMS and group messages only, so an SMS is
 *   usually delivered without one), a failure does not (most failures were never sent on);
 * - delivered / failed: the first final status; a later, contradicting one (a receipt after a
 *   9902 timeout, say) does not count;
 * - latency: delivery time − the counted send event's own time (or message.time when the delivery
 *   came first, or the send was implied), from the events' own times, never below 0;
 * - received: the first message-received, SMS or MMS (media present).
 * The fact is stored in the event's own ledger row, where later events of the message find it.
 */

/** What the ledger reads from the event beyond its row: the message's send time and whether it carries media. */
export interface InsightInput {
	/** message.time, UTC ISO; null when it was not a valid time. */
	messageTime: string | null;
	media: boolean;
}

/*
 * The first `"messageTime":` and `"media":` in the CloudEvent's JSON are data's own: every key
 * before them holds a string, an array of strings or the error object, and inside a JSON string a
 * quote is always escaped, so neither pattern can match within one (withSequence relies on the
 * same). Read this way, the ledger's transaction never parses a body of up to a megabyte.
 */
const MESSAGE_TIME = /"messageTime":(?:null|"((?:[^"\\]|\\.)*)")/;
const MEDIA = /"media":\[(\]?)/;

export function insightInputOf(normalizedJson: string): InsightInput {
	const time = MESSAGE_TIME.exec(normalizedJson)?.[1];
	return {
		messageTime: time === undefined ? null : toUtcIso(time),
		media: MEDIA.exec(normalizedJson)?.[1] === "",
	};
}

/** The event, as the ledger has it. */
export interface FactEvent {
	type: string;
	status: MessageStatus | null;
	direction: string | null;
	recipient: string;
	from: string | null;
	owner: string | null;
	applicationId: string | null;
	errorCode: number | null;
	/** The event's own time (UTC ISO). */
	eventTime: string;
	receivedAt: string;
	input: InsightInput | undefined;
}

/** One of the message's earlier events of the same recipient, as its ledger row holds it. */
export interface EarlierEvent {
	recipient: string;
	/** Its stored fact; null for an event that counted nothing or was stored before insights. */
	fact: Fact | null;
	status: string | null;
}

/** The rollup key: the UTC hour of the message's send time, its application and Bandwidth number. */
export interface FactKey {
	/** Epoch hours. */
	hour: number;
	applicationId: string;
	number: string;
}

export interface Fact extends FactKey {
	/** Counted as sent: the send event's own time (epoch ms), or 0 when a delivery implied it. */
	sentAt?: number;
	/** Counted as delivered, with this latency in ms. */
	latencyMs?: number;
	/** Counted as failed, with this error code (0: none given). */
	failedCode?: number;
	/** Counted as received. */
	received?: "sms" | "mms";
}

const RECEIVED_TYPE = "bandwidth.message.received";

/**
 * The hour a message's counts go to: its send time (message.time), so that a receipt 73 h late
 * lands beside its message. A message.time after the event was received is a sender's clock
 * error and is capped at the receipt.
 */
function keyOf(event: FactEvent): FactKey {
	const received = Date.parse(event.receivedAt);
	const sent = Date.parse(event.input?.messageTime ?? event.eventTime);
	const at = Number.isNaN(sent) ? received : Math.min(sent, received);
	return {
		hour: Math.floor(at / HOUR_MS),
		applicationId: event.applicationId ?? "",
		number: numberOf(event.direction, event.from, event.owner),
	};
}

/**
 * The Bandwidth number an event counts for: the sender of an outbound message (Bandwidth: "for an
 * outbound message, this is always the from number"; its delivered samples put the recipient in
 * `owner`), the receiving number of an inbound one.
 */
export function numberOf(direction: string | null, from: string | null, owner: string | null): string {
	return (direction === "outbound" ? (from ?? owner) : owner) ?? "";
}

const FINAL = new Set(["delivered", "failed"]);
const SENDING = new Set(["sending", "sent"]);

/** An earlier event decided this, or (stored before insights) its status says it happened. */
function earlierSent(earlier: readonly EarlierEvent[]): boolean {
	return earlier.some((row) =>
		row.fact === null ? SENDING.has(row.status ?? "") || row.status === "delivered" : row.fact.sentAt !== undefined,
	);
}

function earlierFinal(earlier: readonly EarlierEvent[]): boolean {
	return earlier.some((row) =>
		row.fact === null
			? FINAL.has(row.status ?? "")
			: row.fact.latencyMs !== undefined || row.fact.failedCode !== undefined,
	);
}

/** The counted send's own time; null when it was implied or there was none. */
function sendTime(earlier: readonly EarlierEvent[]): number | null {
	for (const row of earlier) if (row.fact?.sentAt !== undefined && row.fact.sentAt > 0) return row.fact.sentAt;
	return null;
}

/**
 * The fact of a new event, given the message's earlier events (any recipient; only the event's
 * own recipient's count). Null when it counts nothing.
 */
export function factOf(event: FactEvent, earlierOfMessage: readonly EarlierEvent[]): Fact | null {
	const earlier = earlierOfMessage.filter((row) => row.recipient === event.recipient);
	const fact: Fact = keyOf(event);
	const eventTime = Date.parse(event.eventTime);
	if (event.direction === "outbound") {
		const sent = earlierSent(earlier);
		if (event.status !== null && SENDING.has(event.status)) {
			if (!sent) fact.sentAt = eventTime;
		} else if (event.status === "delivered" && !earlierFinal(earlier)) {
			if (!sent) fact.sentAt = 0;
			const messageTime = Date.parse(event.input?.messageTime ?? "");
			const from = sendTime(earlier) ?? (Number.isNaN(messageTime) ? eventTime : messageTime);
			fact.latencyMs = Math.max(0, eventTime - from);
		} else if (event.status === "failed" && !earlierFinal(earlier)) {
			fact.failedCode = event.errorCode ?? 0;
		}
	} else if (event.direction === "inbound" && event.type === RECEIVED_TYPE) {
		if (!earlier.some((row) => (row.fact === null ? row.status === "received" : row.fact.received !== undefined))) {
			fact.received = event.input?.media ? "mms" : "sms";
		}
	}
	const counts =
		fact.sentAt !== undefined ||
		fact.latencyMs !== undefined ||
		fact.failedCode !== undefined ||
		fact.received !== undefined;
	return counts ? fact : null;
}

/**
 * A fact's counts as its ledger row stores them, in as few bytes as possible:
 * `hour|sentAt|latencyMs|failedCode|received`, absent ones empty (`493712||2345||`: 11 to 24
 * bytes). The application and number are the row's own (src/insights/fact-rows.ts).
 */
export function encodeFact(fact: Fact | null): string | null {
	if (fact === null) return null;
	const received = fact.received === undefined ? "" : fact.received === "mms" ? "m" : "s";
	return [fact.hour, fact.sentAt ?? "", fact.latencyMs ?? "", fact.failedCode ?? "", received].join("|");
}

const STORED = /^(-?\d+)\|(\d*)\|(\d*)\|(\d*)\|([ms]?)$/;

/** The fact a row stores, with its row's key; null for none, or for text that is not one (never trusted blindly). */
export function decodeFact(
	text: string | null | undefined,
	key: Pick<FactKey, "applicationId" | "number"> = { applicationId: "", number: "" },
): Fact | null {
	const match = typeof text === "string" ? STORED.exec(text) : null;
	if (match === null) return null;
	const fact: Fact = { hour: Number(match[1]), ...key };
	if (match[2] !== "") fact.sentAt = Number(match[2]);
	if (match[3] !== "") fact.latencyMs = Number(match[3]);
	if (match[4] !== "") fact.failedCode = Number(match[4]);
	if (match[5] !== "") fact.received = match[5] === "m" ? "mms" : "sms";
	return fact;
}
