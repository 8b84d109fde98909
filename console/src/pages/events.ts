import { NORMALIZED_TYPES as EVENT_TYPES } from "../../../src/bandwidth/event-types";
import { admin, query } from "../api";
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
	table,
} from "../dom";
import { pageThrough } from "../paging";
import type { CloudEvent, Page } from "../types";

/** GET /v1/events's filters, in the order the form shows them. */
const FILTERS = ["messageId", "type", "direction", "from", "to", "since", "until", "limit"] as const;

function eventRow(event: CloudEvent): Child[] {
	return [
		formatTime(event.time),
		code(event.type.replace("bandwidth.message.", "")),
		event.data.status ?? "—",
		h("a", { href: `#/message/${encodeURIComponent(event.data.messageId)}` }, event.data.messageId),
		event.data.sequence,
		code(event.data.direction),
		code(event.data.from),
		code(event.data.recipient),
		code(event.id),
	];
}

/** #/events?filters: the filters live in the hash, so a search can be reloaded or shared (it holds no secret). */
export async function eventsPage(main: HTMLElement, params: URLSearchParams): Promise<void> {
	const error = errorBox();
	const status = liveStatus();
	const value = (name: string) => params.get(name) ?? "";
	const form = h(
		"form",
		{ class: "filters", method: "post", "aria-label": "Event filters" },
		field("Message id", "messageId", value("messageId")),
		select("Type", "type", EVENT_TYPES, value("type")),
		select("Direction", "direction", ["inbound", "outbound"], value("direction")),
		field("From", "from", value("from"), { placeholder: "+15551234567" }),
		field("To (recipient)", "to", value("to"), { placeholder: "+15551234567" }),
		field("Since (inclusive)", "since", value("since"), { placeholder: "2026-12-01T00:00:00Z" }),
		field("Until (exclusive)", "until", value("until"), { placeholder: "2026-12-02T00:00:00Z" }),
		field("Per page", "limit", value("limit") || "50", { type: "number", min: 1, max: 500 }),
		h("div", { class: "actions" }, h("button", { type: "submit" }, "Search")),
	);
	form.addEventListener("submit", (event) => {
		event.preventDefault();
		const data = new FormData(form);
		const chosen = new URLSearchParams();
		for (const name of FILTERS) {
			const entry = data.get(name)?.toString().trim() ?? "";
			if (entry !== "") chosen.set(name, entry);
		}
		const next = `#/events?${chosen.toString()}`;
		// The same search again still runs it: hashchange does not fire for an unchanged hash.
		if (location.hash === next) window.dispatchEvent(new HashChangeEvent("hashchange"));
		else location.hash = next;
	});
	main.append(heading("Events"), form, error, status);
	if (![...params.keys()].some((name) => (FILTERS as readonly string[]).includes(name))) return;

	const filters = Object.fromEntries(FILTERS.map((name) => [name, value(name)]));
	const results = table(
		"Events, oldest first",
		["Time", "Type", "Status", "Message", "Seq", "Dir", "From", "Recipient", "Event id"],
		[],
	);
	const body = results.querySelector("tbody") as HTMLTableSectionElement;
	const more = h("button", { type: "button", hidden: true }, "Next page");
	main.append(results, more);
	let shown = 0;
	await pageThrough(
		more,
		error,
		(cursor) => admin<Page<CloudEvent>>(`/events${query({ ...filters, cursor })}`),
		(page) => {
			appendRows(body, page.items.map(eventRow));
			shown += page.items.length;
			status.textContent = `${shown} event${shown === 1 ? "" : "s"}${page.nextCursor ? ", more to load" : ""}`;
			// The last page hides the button: focus moves to the results rather than falling to the page's top.
			if (page.nextCursor === null && document.activeElement === more) results.focus();
		},
	);
}
