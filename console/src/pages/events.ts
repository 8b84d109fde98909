import { NORMALIZED_TYPES as EVENT_TYPES } from "../../../src/bandwidth/event-types";
import { admin, query } from "../api";
import { deliveryStatus } from "../delivery-status";
import {
	appendRows,
	type Child,
	code,
	errorBox,
	field,
	formatTime,
	h,
	heading,
	liveStatus,
	select,
	showError,
	table,
} from "../dom";
import { errorCodeText } from "../names";
import { pageThrough } from "../paging";
import type { CloudEvent, EventDeliveries, Page } from "../types";

/** Quick ranges, as the hash names them. */
const RANGES = [
	["15m", "15 min", 15 * 60_000],
	["1h", "1 h", 60 * 60_000],
	["24h", "24 h", 24 * 60 * 60_000],
	["7d", "7 d", 7 * 24 * 60 * 60_000],
] as const;

/** What the hash may hold, in the order the form shows it. */
const PARAMS = ["q", "range", "type", "direction", "from", "to", "since", "until", "limit"] as const;

/**
 * The one search box: an event id (evt_…), a phone number (digits, a leading +), or else a message
 * id. A number is not indexed, so the page asks within the chosen range.
 */
export function searchFilter(text: string): Record<string, string> {
	const value = text.trim();
	if (value === "") return {};
	if (value.startsWith("evt_")) return { eventId: value };
	if (/^\+?\d{3,15}$/.test(value)) return { number: value.startsWith("+") || value.length < 10 ? value : `+${value}` };
	return { messageId: value };
}

const pad = (n: number) => String(n).padStart(2, "0");

/** A UTC ISO time as a datetime-local value in the browser's time zone; "" for none. */
function localOf(iso: string): string {
	const at = new Date(iso);
	if (iso === "" || Number.isNaN(at.getTime())) return "";
	return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

/** A datetime-local value (the browser's time zone) as UTC ISO; an ISO value is kept as it is. */
function utcOf(value: string): string {
	if (value === "" || /Z$|[+-]\d\d:\d\d$/.test(value)) return value;
	const at = new Date(value);
	return Number.isNaN(at.getTime()) ? value : at.toISOString();
}

function deliveryCell(status: EventDeliveries | undefined): Child {
	if (status === undefined) return "—";
	return h(
		"span",
		{ class: "delivery-states" },
		...status.deliveries.flatMap((state, index) => [
			index === 0 ? "" : " ",
			h("span", { class: `outcome ${state.state}`, title: state.destination }, `${state.destination}: ${state.state}`),
		]),
	);
}

function eventRow(event: CloudEvent, status: EventDeliveries | undefined): Child[] {
	return [
		formatTime(event.time),
		code(event.type.replace("bandwidth.message.", "")),
		event.data.status ?? "—",
		h("a", { href: `#/message/${encodeURIComponent(event.data.messageId)}` }, event.data.messageId),
		code(event.data.recipient),
		event.data.error === null ? "—" : errorCodeText(event.data.error.code),
		deliveryCell(status),
		code(event.id),
	];
}

/** #/events?…: newest first; the search and filters live in the hash, so a search can be reloaded (no secret in it). */
export async function eventsPage(main: HTMLElement, params: URLSearchParams): Promise<void> {
	const error = errorBox();
	const status = liveStatus();
	const value = (name: string) => params.get(name) ?? "";
	const go = (chosen: URLSearchParams) => {
		const next = `#/events?${chosen.toString()}`;
		// The same search again still runs it: hashchange does not fire for an unchanged hash.
		if (location.hash === next) window.dispatchEvent(new HashChangeEvent("hashchange"));
		else location.hash = next;
	};
	const form = h(
		"form",
		{ class: "search", method: "post", "aria-label": "Search events" },
		h(
			"div",
			{ class: "inline" },
			field("Message id, event id or phone number", "q", value("q"), { type: "search", placeholder: "+15551234567" }),
			h("button", { type: "submit" }, "Search"),
		),
		h(
			"details",
			{ open: ["type", "direction", "from", "to", "since", "until"].some((name) => value(name) !== "") },
			h("summary", {}, "More filters"),
			h(
				"div",
				{ class: "filters" },
				select("Type", "type", EVENT_TYPES, value("type")),
				select("Direction", "direction", ["inbound", "outbound"], value("direction")),
				field("From", "from", value("from"), { placeholder: "+15551234567" }),
				field("To (recipient)", "to", value("to"), { placeholder: "+15551234567" }),
				field("Since (your local time)", "since", localOf(value("since")), { type: "datetime-local" }),
				field("Until (your local time)", "until", localOf(value("until")), { type: "datetime-local" }),
				field("Per page", "limit", value("limit") || "50", { type: "number", min: 1, max: 500 }),
			),
		),
	);
	const chosenOf = (range: string) => {
		const data = new FormData(form);
		const chosen = new URLSearchParams();
		for (const name of PARAMS) {
			const entry = name === "range" ? range : (data.get(name)?.toString().trim() ?? "");
			if (entry !== "") chosen.set(name, name === "since" || name === "until" ? utcOf(entry) : entry);
		}
		// A quick range replaces a typed start.
		if (range !== "") chosen.delete("since");
		return chosen;
	};
	form.addEventListener("submit", (event) => {
		event.preventDefault();
		go(chosenOf(value("range")));
	});
	const ranges = h(
		"div",
		{ class: "actions ranges", role: "group", "aria-label": "Time range" },
		...RANGES.map(([key, label]) =>
			h(
				"button",
				{
					type: "button",
					class: value("range") === key ? "" : "secondary",
					"aria-pressed": String(value("range") === key),
					onclick: () => go(chosenOf(key)),
				},
				`Last ${label}`,
			),
		),
		h(
			"button",
			{
				type: "button",
				class: value("range") === "" ? "" : "secondary",
				"aria-pressed": String(value("range") === ""),
				onclick: () => go(chosenOf("")),
			},
			"Any time",
		),
	);
	main.append(heading("Events"), form, ranges, error, status);

	const search = searchFilter(value("q"));
	// A number is matched row by row (nothing indexes it): without a range, the last 7 days are read.
	const range =
		RANGES.find(([key]) => key === value("range")) ??
		("number" in search && value("since") === "" ? RANGES[3] : undefined);
	if (range !== undefined && value("range") === "") status.textContent = `Searching the last ${range[1]}.`;
	const filters = {
		...search,
		type: value("type"),
		direction: value("direction"),
		from: value("from"),
		to: value("to"),
		since: range === undefined ? value("since") : new Date(Date.now() - range[2]).toISOString(),
		until: value("until"),
		limit: value("limit"),
		order: "newest",
	};
	const results = table(
		"Events, newest first",
		["Time", "Type", "Status", "Message", "Recipient", "Error", "Delivery", "Event id"],
		[],
	);
	const body = results.querySelector("tbody") as HTMLTableSectionElement;
	const more = h("button", { type: "button", hidden: true }, "Next page");
	main.append(results, more);
	let shown = 0;
	await pageThrough(
		more,
		error,
		async (cursor) => {
			const page = await admin<Page<CloudEvent>>(`/events${query({ ...filters, cursor })}`);
			// Each row's delivery state; the list still shows if that read fails.
			const states = await deliveryStatus(
				page.items.map((event) => ({ id: event.id, messageId: event.subject })),
			).catch((caught: unknown) => {
				showError(error, caught);
				return new Map<string, EventDeliveries>();
			});
			return { ...page, states };
		},
		(page) => {
			appendRows(
				body,
				page.items.map((event) => eventRow(event, page.states.get(event.id))),
			);
			shown += page.items.length;
			status.textContent = `${shown} event${shown === 1 ? "" : "s"}${page.nextCursor ? ", more to load" : ""}`;
			// The last page hides the button: focus moves to the results rather than falling to the page's top.
			if (page.nextCursor === null && document.activeElement === more) results.focus();
		},
	);
}
