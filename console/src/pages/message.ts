import { admin, query } from "../api";
import { appendRows, type Child, code, errorBox, field, formatTime, h, heading, showError, table } from "../dom";
import type { CloudEvent, Delivery, MessageView } from "../types";

/** Bandwidth's code and name, and its description under them: what on-call reads first on a failure. */
function errorCell(error: CloudEvent["data"]["error"]): Child {
	if (error === null) return "—";
	const title = [error.code, error.name].filter((part) => part !== null).join(" ");
	if (error.description === null) return title;
	return h("span", {}, title, h("br"), h("small", { class: "muted" }, error.description));
}

function eventRow(event: CloudEvent): Child[] {
	return [
		event.data.sequence,
		formatTime(event.time),
		code(event.type.replace("bandwidth.message.", "")),
		event.data.status ?? "—",
		code(event.data.recipient),
		errorCell(event.data.error),
		code(event.id),
	];
}

export function deliveryRow(delivery: Delivery): Child[] {
	return [
		code(delivery.eventId),
		delivery.attempt,
		h("span", { class: `outcome ${delivery.outcome}` }, delivery.outcome),
		delivery.httpStatus ?? "—",
		delivery.error ?? "—",
		formatTime(delivery.at),
	];
}

export const DELIVERY_HEADERS = ["Event", "Attempt", "Outcome", "HTTP", "Error", "At"];

/** #/message or #/message/<id>: a lookup form, then the message's recipients, timeline and deliveries. */
export async function messagePage(main: HTMLElement, messageId: string | undefined): Promise<void> {
	const error = errorBox();
	const form = h(
		"form",
		{ class: "inline", method: "post", "aria-label": "Look up a message" },
		field("Message id", "messageId", messageId ?? "", { required: true, maxlength: 256 }),
		h("button", { type: "submit" }, "Look up"),
	);
	form.addEventListener("submit", (event) => {
		event.preventDefault();
		const id = new FormData(form).get("messageId")?.toString().trim() ?? "";
		if (id !== "") location.hash = `#/message/${encodeURIComponent(id)}`;
	});
	main.append(heading("Message"), form, error);
	if (messageId === undefined) return;

	try {
		const view = await admin<MessageView>(`/messages/${encodeURIComponent(messageId)}`);
		const timeline = table(
			"Timeline (by sequence)",
			["Seq", "Time", "Type", "Status", "Recipient", "Error", "Event id"],
			view.events.map(eventRow),
		);
		const deliveries = table("Deliveries", DELIVERY_HEADERS, view.deliveries.map(deliveryRow));
		const note =
			view.deliveries.length === 0
				? h("p", { class: "muted" }, "No delivery rows: a first-try success is counted, not listed.")
				: null;
		main.append(
			h("h2", {}, "Recipients"),
			table(
				"Recipients",
				["Recipient", "Status", "Error code", "Updated", "Last event"],
				view.recipients.map((r) => [
					code(r.recipient),
					h("strong", {}, r.status),
					r.errorCode ?? "—",
					formatTime(r.updatedAt),
					code(r.lastEventId),
				]),
			),
			h("h2", {}, "Timeline"),
			timeline,
			h("h2", {}, "Deliveries"),
			deliveries,
		);
		if (note) main.append(note);
		let cursor = view.nextCursor;
		if (cursor !== null) {
			const more = h("button", { type: "button" }, "Load more");
			more.addEventListener("click", async () => {
				more.disabled = true;
				try {
					const page = await admin<MessageView>(`/messages/${encodeURIComponent(messageId)}${query({ cursor })}`);
					appendRows(timeline.querySelector("tbody") as HTMLTableSectionElement, page.events.map(eventRow));
					appendRows(deliveries.querySelector("tbody") as HTMLTableSectionElement, page.deliveries.map(deliveryRow));
					cursor = page.nextCursor;
					if (cursor === null) more.remove();
				} catch (caught) {
					showError(error, caught);
				} finally {
					more.disabled = false;
				}
			});
			main.append(more);
		}
	} catch (caught) {
		showError(error, caught);
	}
}
