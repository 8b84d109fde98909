import { ApiError, admin, query } from "../api";
import { appendRows, type Child, code, errorBox, field, formatTime, h, heading, showError, table } from "../dom";
import type { CloudEvent, Delivery, MediaView, MessageView } from "../types";

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
		code(delivery.destination),
		delivery.attempt,
		h("span", { class: `outcome ${delivery.outcome}` }, delivery.outcome),
		delivery.httpStatus ?? "—",
		delivery.error ?? "—",
		formatTime(delivery.at),
	];
}

export const DELIVERY_HEADERS = ["Event", "Destination", "Attempt", "Outcome", "HTTP", "Error", "At"];

/** An inbound MMS's copies (GET /v1/media/:id), with fresh links; null when it has none (404). */
async function mediaOf(messageId: string): Promise<MediaView | null> {
	try {
		return await admin<MediaView>(`/media/${encodeURIComponent(messageId)}`);
	} catch (caught) {
		if (caught instanceof ApiError && caught.status === 404) return null;
		throw caught;
	}
}

function mediaSection(media: MediaView): HTMLElement[] {
	const rows = media.items.map((item) => [
		item.index,
		h("span", { class: `outcome ${item.status === "copied" ? "delivered" : item.status}` }, item.status),
		item.url === null ? "—" : h("a", { href: item.url, target: "_blank", rel: "noopener" }, "open copy"),
		item.contentType ?? "—",
		item.bytes ?? "—",
		item.reason ?? "—",
	]);
	return [h("h2", {}, "Media"), table("Media copies", ["#", "Copy", "Link", "Type", "Bytes", "Reason"], rows)];
}

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
		// Copied media where it exists: only an inbound MMS has any, so only then is it asked for
		// (another message would draw a 404); a failure here must not hide the rest.
		const inboundMms = view.events.some(
			(event) => event.type === "bandwidth.message.received" && event.data.media.length > 0,
		);
		const media = inboundMms ? await mediaOf(messageId).catch(() => null) : null;
		if (media !== null && media.items.length > 0) main.append(...mediaSection(media));
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
