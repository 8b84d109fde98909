import { ApiError, admin, query } from "../api";
import { confirmAction } from "../confirm";
import { deliveryStatus } from "../delivery-status";
import { type Child, code, errorBox, field, formatTime, h, heading, liveStatus, showError, table } from "../dom";
import { answerText, durationText, errorCodeText, httpText } from "../names";
import { deliveryStateLine, settled } from "../states";
import type { CloudEvent, Delivery, EventDeliveries, MediaView, MessageView, ReplayResult } from "../types";

/** Pages of a message read at most: a message has a handful of events, a hostile one not thousands. */
const MAX_PAGES = 20;
/** After a replay, the page looks again this often until each replayed delivery has an outcome. */
const WATCH_MS = 2000;
const WATCH_FOR_MS = 5 * 60_000;

/** Bandwidth's code and name, and its description under them: what on-call reads first on a failure. */
function errorCell(error: CloudEvent["data"]["error"]): Child {
	if (error === null) return "—";
	const title = errorCodeText(error.code);
	if (error.description === null) return title;
	return h("span", {}, title, h("br"), h("small", { class: "muted" }, error.description));
}

export const DELIVERY_HEADERS = ["Destination", "Attempt", "Outcome", "HTTP", "Duration", "Answer", "At", "Next try"];

export function deliveryRow(delivery: Delivery): Child[] {
	const outcome = delivery.outcome === "replayed" ? "replay requested" : delivery.outcome;
	return [
		code(delivery.destination),
		delivery.outcome === "replayed" ? "—" : delivery.attempt,
		h("span", { class: `outcome ${delivery.outcome}` }, outcome),
		httpText(delivery.httpStatus),
		durationText(delivery.durationMs),
		delivery.outcome === "delivered" ? "—" : answerText(delivery.error),
		formatTime(delivery.at),
		delivery.outcome === "failed" ? formatTime(delivery.nextAttemptAt) : "—",
	];
}

/**
 * One (event, destination)'s attempts in the order they happened: its first try (no row id) first,
 * then its rows by id, the order they were written.
 */
function inOrder(deliveries: readonly Delivery[]): Delivery[] {
	return [...deliveries].sort((a, b) => {
		if (a.destination !== b.destination) return a.destination.localeCompare(b.destination);
		return (a.id ?? -1) - (b.id ?? -1);
	});
}

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

/** Every page of the message, events and deliveries together. */
async function wholeMessage(messageId: string): Promise<MessageView> {
	const path = `/messages/${encodeURIComponent(messageId)}`;
	const view = await admin<MessageView>(path);
	let cursor = view.nextCursor;
	for (let page = 1; cursor !== null && page < MAX_PAGES; page++) {
		const next = await admin<MessageView>(`${path}${query({ cursor })}`);
		view.events.push(...next.events);
		view.deliveries.push(...next.deliveries);
		cursor = next.nextCursor;
	}
	view.nextCursor = cursor;
	return view;
}

/** One event: its delivery state per destination with replay buttons, its attempts, and its CloudEvent. */
function eventCard(
	event: CloudEvent,
	attempts: readonly Delivery[],
	status: EventDeliveries | undefined,
	replay: (eventId: string, destination: string | null) => void,
): HTMLElement {
	const destinations = status?.deliveries ?? [];
	const states = h(
		"ul",
		{ class: "states" },
		...destinations.map((state) =>
			h(
				"li",
				{ "data-destination": state.destination },
				h("strong", {}, `${state.destination}: `),
				...deliveryStateLine(state),
				state.destination === "none"
					? ""
					: h(
							"button",
							{
								type: "button",
								class: "secondary small",
								onclick: () => replay(event.id, state.destination),
							},
							`Replay to ${state.destination}`,
						),
			),
		),
	);
	const title = `#${event.data.sequence} ${event.type.replace("bandwidth.message.", "")}`;
	return h(
		"article",
		{ class: "card event", "data-event": event.id, "aria-labelledby": `event-${event.id}` },
		h("h3", { id: `event-${event.id}` }, title, " ", h("small", { class: "muted" }, formatTime(event.time))),
		h("p", { class: "ids" }, "Event ", code(event.id), " · recipient ", code(event.data.recipient)),
		event.data.error === null ? "" : h("p", { class: "reason" }, "Bandwidth error: ", errorCell(event.data.error)),
		destinations.length === 0 ? h("p", { class: "muted" }, "Its delivery state could not be read.") : states,
		attempts.length === 0
			? h("p", { class: "muted" }, "No attempt yet.")
			: table(`Attempts of ${event.id}`, DELIVERY_HEADERS, inOrder(attempts).map(deliveryRow)),
		h(
			"details",
			{},
			h("summary", {}, "The CloudEvent as forwarded"),
			h("pre", { tabindex: 0 }, JSON.stringify(event, null, 2)),
		),
		h(
			"div",
			{ class: "actions" },
			h(
				"button",
				{ type: "button", class: "secondary", onclick: () => replay(event.id, null) },
				"Replay to every destination",
			),
		),
	);
}

/** #/message or #/message/<id>: a lookup form, then the message's recipients and each event's deliveries. */
export async function messagePage(main: HTMLElement, messageId: string | undefined): Promise<void> {
	const error = errorBox();
	const status = liveStatus();
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
	main.append(heading("Message"), form, error, status);
	if (messageId === undefined) return;

	const events = h("div", { class: "events" });
	const recipients = h("div", {});
	const render = async () => {
		const view = await wholeMessage(messageId);
		const states = await deliveryStatus(view.events.map((event) => ({ id: event.id, messageId })));
		recipients.replaceChildren(
			table(
				"Recipients",
				["Recipient", "Status", "Error", "Updated", "Last event"],
				view.recipients.map((r) => [
					code(r.recipient),
					h("strong", {}, r.status),
					r.errorCode === null ? "—" : errorCodeText(r.errorCode),
					formatTime(r.updatedAt),
					code(r.lastEventId),
				]),
			),
		);
		const byEvent = Map.groupBy(view.deliveries, (delivery) => delivery.eventId);
		events.replaceChildren(
			...view.events.map((event) => eventCard(event, byEvent.get(event.id) ?? [], states.get(event.id), onReplay)),
		);
		if (view.nextCursor !== null) {
			events.append(h("p", { class: "muted" }, `Only the first ${MAX_PAGES} pages of this message are shown.`));
		}
		return { view, states };
	};

	let watching: ReturnType<typeof setTimeout> | undefined;
	const watch = (eventId: string, until: number) => {
		clearTimeout(watching);
		watching = setTimeout(async () => {
			if (!main.isConnected) return;
			try {
				const { states } = await render();
				const waiting = (states.get(eventId)?.deliveries ?? []).filter((state) => !settled(state));
				const held = waiting.filter((state) => state.state === "held").map((state) => state.destination);
				if (waiting.length === 0) status.textContent = "Replay finished: every delivery of the event has an outcome.";
				else if (Date.now() < until) {
					status.textContent = `Replay running: ${waiting.length} waiting${held.length > 0 ? ` (held at ${held.join(", ")})` : ""}…`;
					watch(eventId, until);
				} else status.textContent = `${waiting.length} still waiting; see each destination's line for why.`;
			} catch (caught) {
				showError(error, caught);
			}
		}, WATCH_MS);
	};

	const onReplay = async (eventId: string, destination: string | null) => {
		const to = destination === null ? "every destination it was routed to" : destination;
		const ok = await confirmAction(
			"Replay this event?",
			`${eventId} is sent again to ${to}, with its original id (the receiver can tell it is a repeat).`,
			"Replay",
		);
		if (!ok) return;
		error.hidden = true;
		try {
			const body = destination === null ? { eventIds: [eventId] } : { eventIds: [eventId], destination };
			const result = await admin<ReplayResult>("/replay", body);
			status.textContent = `Replay enqueued (${result.enqueued}); watching for its outcome…`;
			watch(eventId, Date.now() + WATCH_FOR_MS);
		} catch (caught) {
			showError(
				error,
				caught instanceof ApiError && caught.status === 409
					? new Error("Another replay is running; try again in a moment.")
					: caught,
			);
		}
	};

	try {
		main.append(h("h2", {}, "Recipients"), recipients, h("h2", {}, "Events and their deliveries"), events);
		const { view } = await render();
		// Copied media where it exists: only an inbound MMS has any, so only then is it asked for
		// (another message would draw a 404); a failure here must not hide the rest.
		const inboundMms = view.events.some(
			(event) => event.type === "bandwidth.message.received" && event.data.media.length > 0,
		);
		const media = inboundMms ? await mediaOf(messageId).catch(() => null) : null;
		if (media !== null && media.items.length > 0) main.append(...mediaSection(media));
	} catch (caught) {
		recipients.remove();
		events.remove();
		for (const title of main.querySelectorAll("h2")) title.remove();
		showError(error, caught);
	}
}
