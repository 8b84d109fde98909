import type { RawRequest } from "../http-exchange.ts";
import { CALLBACK_AUTH, type IngestCounts } from "../relay-api.ts";

/*
 * A malformed-input case: one request and what the relay must answer, declared by the generator
 * from the documented rules (README "The callback endpoint", DESIGN §2 and §6), never from the
 * relay's own code. A regression then names the case that broke.
 */

export type ErrorCode =
	| "invalid_json"
	| "invalid_batch"
	| "unauthorized"
	| "method_not_allowed"
	| "payload_too_large"
	| "unsupported_media_type";

export interface Rejected {
	kind: "rejected";
	status: 400 | 401 | 405 | 413 | 415;
	code: ErrorCode;
}

/** A quarantine row some element of the case must have left. */
export interface QuarantineProbe {
	label: string;
	reason: RegExp;
	matches(raw: unknown): boolean;
	/** True when exactly one row may match (the element carries a marker of its own). */
	unique: boolean;
}

/** An element the relay must store once (and forward once, when it has a direction). */
export interface StoredProbe {
	messageId: string;
	type: string;
	direction: "inbound" | "outbound" | null;
	/** JSON.stringify of the element as parsed: the CloudEvent's data.bandwidth must match it. */
	bandwidthJson: string;
}

export interface Accepted {
	kind: "accepted";
	counts: IngestCounts;
	quarantined: QuarantineProbe[];
	stored: StoredProbe[];
}

export interface CorpusCase {
	name: string;
	request: RawRequest;
	expect: Rejected | Accepted;
	/** Message ids in the request that must never be stored (rejected before the body counted). */
	notStored: string[];
}

export const MARKER = "corpusCase";
export const CALLBACK_PATH = "/bandwidth/messaging";
export const JSON_TYPE = "application/json; charset=utf-8";

const encoder = new TextEncoder();
export const bytes = (text: string): Uint8Array => encoder.encode(text);

export function callbackRequest(body: Uint8Array | string, headers: Record<string, string> = {}): RawRequest {
	return {
		method: "POST",
		path: CALLBACK_PATH,
		headers: { authorization: CALLBACK_AUTH, "content-type": JSON_TYPE, ...headers },
		body: typeof body === "string" ? bytes(body) : body,
	};
}

/** The same body with no Content-Length, in `chunkSize` pieces. */
export function chunkedRequest(body: Uint8Array, chunkSize: number): RawRequest {
	const chunks: Uint8Array[] = [];
	for (let start = 0; start < body.byteLength; start += chunkSize) chunks.push(body.subarray(start, start + chunkSize));
	return {
		method: "POST",
		path: CALLBACK_PATH,
		headers: { authorization: CALLBACK_AUTH, "content-type": JSON_TYPE },
		chunks,
	};
}

export const rejected = (status: Rejected["status"], code: ErrorCode): Rejected => ({ kind: "rejected", status, code });

const NORMALIZED: Record<string, string> = {
	"message-received": "received",
	"message-sending": "sending",
	"message-sent": "sent",
	"message-delivered": "delivered",
	"message-failed": "failed",
	"message-read": "read",
	"suggestion-response": "suggestion_response",
	"requested-location-response": "location_response",
	"request-location-response": "location_response",
	"location-request-response": "location_response",
};

/** What one element of an accepted batch must become. */
export type ElementFate =
	| { fate: "stored" }
	| { fate: "duplicate" }
	| { fate: "quarantined"; reason: RegExp; matches?: (raw: unknown) => boolean };

export const STORED: ElementFate = { fate: "stored" };
export const DUPLICATE: ElementFate = { fate: "duplicate" };

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Quarantined with a reason naming `path` (README: "a reason naming the path"). */
export function quarantinedAt(path: string): ElementFate {
	return { fate: "quarantined", reason: new RegExp(`(^|; )${escapeRegExp(path)}[.:]`) };
}

export const NOT_AN_OBJECT = quarantinedAt("element");
export const TOO_DEEP: ElementFate = { fate: "quarantined", reason: /nested deeper than 32 levels/ };

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** README: a stored row, every column counted, holds at most 1,800,000 bytes. */
export const MAX_ROW_BYTES = 1_800_000;
/** Sizes within this fraction of the limit are too close to call from outside the relay. */
const SIZE_MARGIN = 0.1;

function checkedSize(bytes: number, what: string): number {
	if (Math.abs(bytes - MAX_ROW_BYTES) < MAX_ROW_BYTES * SIZE_MARGIN) {
		throw new Error(`${what} is ${bytes} bytes, too close to the ${MAX_ROW_BYTES}-byte row limit to declare`);
	}
	return bytes;
}

/** A quarantine row holding a marked prefix of the element's JSON, in place of the element. */
export function truncatedCopyOf(marker: string): (raw: unknown) => boolean {
	const markerJson = `${JSON.stringify(MARKER)}:${JSON.stringify(marker)}`;
	return (raw) =>
		isObject(raw) &&
		raw.truncated === true &&
		typeof raw.jsonPrefix === "string" &&
		raw.jsonPrefix.includes(markerJson);
}

/**
 * README "The callback endpoint": a valid element is stored as an event only if its row fits, and
 * that row holds the element as parsed once (data.bandwidth) and its text, recipients and media a
 * second time; a larger one is quarantined whole, or, when even its JSON alone does not fit, as a
 * marked prefix with a reason that says so. `element` is as the relay parses it (1e20 → 21 digits).
 */
export function fateBySize(element: Record<string, unknown>): ElementFate {
	const json = Buffer.byteLength(JSON.stringify(element));
	const message = isObject(element.message) ? element.message : {};
	const copies = ["text", "to", "media"].reduce(
		(sum, key) => sum + (message[key] === undefined ? 0 : Buffer.byteLength(JSON.stringify(message[key]))),
		0,
	);
	if (checkedSize(json + copies, "the event row") <= MAX_ROW_BYTES) return STORED;
	const reason = /^element: too large to store as an event /;
	// The row's id, time and reason need well under a kilobyte.
	if (checkedSize(json + 1000, "the quarantine row") <= MAX_ROW_BYTES) return { fate: "quarantined", reason };
	return {
		fate: "quarantined",
		reason: /^element: too large to store as an event .*; raw_json truncated: /,
		matches: truncatedCopyOf(String(element[MARKER])),
	};
}

function storedProbe(element: Record<string, unknown>): StoredProbe {
	const message = element.message as Record<string, unknown>;
	const type = element.type as string;
	const known = Object.hasOwn(NORMALIZED, type) ? NORMALIZED[type] : undefined;
	const direction = message.direction === "in" ? "inbound" : message.direction === "out" ? "outbound" : null;
	return {
		messageId: message.id as string,
		type: `bandwidth.message.${known ?? "unknown"}`,
		direction,
		bandwidthJson: JSON.stringify(element),
	};
}

const jsonOfObject = new WeakMap<object, string | undefined>();

/**
 * A listed row's JSON, once per row: every probe of the corpus is matched against every quarantine
 * row, and at the default cap a few rows hold a megabyte each (stringified each time, the check took
 * a minute).
 */
export function jsonOf(raw: unknown): string | undefined {
	if (typeof raw !== "object" || raw === null) return JSON.stringify(raw);
	if (!jsonOfObject.has(raw)) jsonOfObject.set(raw, JSON.stringify(raw));
	return jsonOfObject.get(raw);
}

function quarantineProbe(element: unknown, index: number, fate: Extract<ElementFate, { fate: "quarantined" }>) {
	const marker = isObject(element) ? element[MARKER] : undefined;
	// Lazily, and once: a hostile element may be too deep to stringify at all (then it brings its own matcher).
	let json: string | undefined;
	const text = () => {
		json ??= JSON.stringify(element);
		return json;
	};
	const probe: QuarantineProbe = {
		label: `element ${index}`,
		reason: fate.reason,
		unique: typeof marker === "string" && fate.matches === undefined,
		matches:
			fate.matches ??
			(typeof marker === "string" ? (raw) => isObject(raw) && raw[MARKER] === marker : (raw) => jsonOf(raw) === text()),
	};
	return probe;
}

/**
 * The 200 answer for `bodyText`, one fate per element (a bare object is a batch of one). The
 * expectation is built from the body as the relay will parse it, so text-level tricks (1e400,
 * escaped keys, duplicate keys) are judged on what they mean.
 */
export function acceptedBody(bodyText: string, fates: readonly ElementFate[]): Accepted {
	const parsed: unknown = JSON.parse(bodyText.replace(/^\uFEFF/, ""));
	const elements: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
	if (elements.length !== fates.length) throw new Error(`${elements.length} elements but ${fates.length} fates`);
	const outcome: Accepted = {
		kind: "accepted",
		counts: { received: elements.length, stored: 0, duplicates: 0, quarantined: 0 },
		quarantined: [],
		stored: [],
	};
	elements.forEach((element, index) => {
		const fate = fates[index] as ElementFate;
		if (fate.fate === "stored") {
			outcome.counts.stored += 1;
			outcome.stored.push(storedProbe(element as Record<string, unknown>));
		} else if (fate.fate === "duplicate") outcome.counts.duplicates += 1;
		else {
			outcome.counts.quarantined += 1;
			outcome.quarantined.push(quarantineProbe(element, index, fate));
		}
	});
	return outcome;
}
