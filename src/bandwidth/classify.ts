import * as v from "valibot";
import { EVENT_TYPES, type EventTypeInfo, UNKNOWN_EVENT_TYPE } from "./event-types";
import { type EventBase, EventBaseSchema, KNOWN_EVENT_TYPES, KnownEventSchema } from "./schemas";

export type Classified =
	| { kind: "event"; element: EventBase & { errorCode?: number | null }; info: EventTypeInfo }
	| { kind: "invalid"; reason: string };

const MAX_ISSUES_IN_REASON = 5;

function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
	const listed = issues.slice(0, MAX_ISSUES_IN_REASON).map((issue) => {
		const path = v.getDotPath(issue) ?? "element";
		return `${path}: ${issue.message}`;
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
