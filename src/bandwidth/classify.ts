import * as v from "valibot";
import { EVENT_TYPES, type EventTypeInfo, UNKNOWN_EVENT_TYPE } from "./event-types";
import { type EventBase, EventBaseSchema, KNOWN_EVENT_TYPES, KnownEventSchema } from "./schemas";

export type Classified =
	| { kind: "event"; element: EventBase & { errorCode?: number | null }; info: EventTypeInfo }
	| { kind: "invalid"; reason: string };

const MAX_ISSUES_IN_REASON = 5;
/**
 * valibot's default message ends with the received value in full ("… but received "zzz…"").
 * A reason is stored beside the raw element and logged, so a 1 MiB string would be there three
 * times over; enough of it to recognise is kept.
 */
export const MAX_RECEIVED_CHARS = 100;

/** At most `max` UTF-16 units of `text`, never ending inside a surrogate pair, with a note of what was cut. */
export function clip(text: string, max: number): string {
	if (text.length <= max) return text;
	const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
	return `${text.slice(0, end)}… (${text.length} characters)`;
}

function messageOf(issue: v.BaseIssue<unknown>): string {
	const { message, received } = issue;
	const suffix = `eceived ${received}`;
	if (received.length <= MAX_RECEIVED_CHARS || !message.endsWith(suffix)) return message;
	return `${message.slice(0, -received.length)}${clip(received, MAX_RECEIVED_CHARS)}`;
}

function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
	const listed = issues.slice(0, MAX_ISSUES_IN_REASON).map((issue) => {
		const path = v.getDotPath(issue) ?? "element";
		return `${path}: ${messageOf(issue)}`;
	});
	const more = issues.length - listed.length;
	return more > 0 ? `${listed.join("; ")}; and ${more} more` : listed.join("; ");
}

/**
 * One element of a callback batch → a known event, an unknown-but-well-formed one (Bandwidth adds
 * types; those are kept and forwarded, never rejected), or invalid with a reason naming the path.
 */
export function classifyElement(raw: unknown): Classified {
	if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
		return { kind: "invalid", reason: "element: must be a JSON object" };
	}
	const type = (raw as { type?: unknown }).type;
	if (typeof type === "string" && KNOWN_EVENT_TYPES.has(type)) {
		const result = v.safeParse(KnownEventSchema, raw);
		if (!result.success) return { kind: "invalid", reason: describeIssues(result.issues) };
		return { kind: "event", element: result.output, info: EVENT_TYPES[result.output.type] };
	}
	const result = v.safeParse(EventBaseSchema, raw);
	if (!result.success) return { kind: "invalid", reason: describeIssues(result.issues) };
	return { kind: "event", element: result.output, info: UNKNOWN_EVENT_TYPE };
}
