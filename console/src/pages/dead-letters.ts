import { ApiError, admin, query } from "../api";
import { confirmAction } from "../confirm";
import { deliveryStatus } from "../delivery-status";
import { append, code, errorBox, formatTime, h, heading, liveStatus, showError } from "../dom";
import { answerText, errorCodeText, httpText } from "../names";
import { autoRefresh, type Refresher } from "../refresh";
import { deliveryStateLine, settled } from "../states";
import type { Delivery, DeliveryState, Destinations, EventDeliveries, Page, ReplayResult } from "../types";

/** Rows the page lists at most (the API pages on; `{"dead": true}` replays beyond them too). */
const LIST_MAX = 200;
/** While a replay runs, the page looks this often at what became of it. */
const WATCH_EVERY_MS = 2000;

/** Each (event, destination) is its own delivery, dead or not. */
type Key = string;
const keyOf = (delivery: Pick<Delivery, "eventId" | "destination">): Key =>
	`${delivery.eventId} ${delivery.destination}`;
const partsOf = (key: Key) => {
	const [eventId = "", destination = ""] = key.split(" ");
	return { eventId, destination };
};

const typeText = (type: string | undefined) => (type === undefined ? "—" : type.replace("bandwidth.message.", ""));

/** The dead deliveries listed: now dead only, or every death on record; of one destination or all. */
async function deaths(destination: string, history: boolean): Promise<Map<Key, Delivery>> {
	const found = new Map<Key, Delivery>();
	let cursor: string | null = null;
	do {
		const page: Page<Delivery> = await admin<Page<Delivery>>(
			`/deliveries${query({ status: "dead", current: history ? null : "true", destination, limit: 500, cursor })}`,
		);
		for (const row of page.items) found.set(keyOf(row), row);
		cursor = page.nextCursor;
	} while (cursor !== null && found.size < LIST_MAX);
	return found;
}

const HOLD_WORDS = {
	paused: "paused",
	breaker: "breaker open",
	rate: "rate limit",
	concurrency: "concurrency limit",
} as const;

/** What became of the replayed deliveries, in one line. */
function replaySummary(states: readonly DeliveryState[]): string {
	const count = (state: DeliveryState["state"]) => states.filter((one) => one.state === state).length;
	const held = states.filter((state) => state.state === "held");
	const why = [
		...new Set(held.map((state) => `${state.destination}: ${HOLD_WORDS[state.hold?.reason ?? "paused"]}`)),
	].join(", ");
	const parts = [
		`${count("delivered")} delivered`,
		`${count("dead")} dead again`,
		held.length > 0 ? `${held.length} held (${why})` : null,
		count("retrying") > 0 ? `${count("retrying")} retrying` : null,
		count("queued") > 0 ? `${count("queued")} waiting in the queue` : null,
	];
	return parts.filter((part) => part !== null).join(", ");
}

/**
 * #/dead?destination=…&history=1: the deliveries dead now (or every death on record), each with
 * its message, type and recipient and what it is now; select some, or every dead one of a
 * destination, and replay them, then watch each one's state until it has an outcome.
 */
export async function deadLettersPage(main: HTMLElement, params: URLSearchParams): Promise<void> {
	const error = errorBox();
	const status = liveStatus();
	const chosen = params.get("destination") ?? "";
	const history = params.get("history") === "1";
	const destination = h(
		"select",
		{ id: "field-destination", name: "destination" },
		h("option", { value: "" }, "every destination"),
	);
	const stillDead = h("input", { type: "checkbox", id: "field-still-dead", checked: !history });
	const filters = h(
		"form",
		{ class: "inline", method: "post", "aria-label": "Dead letter filters" },
		h("div", { class: "field" }, h("label", { for: destination.id }, "Destination"), destination),
		h("div", { class: "field check" }, stillDead, h("label", { for: stillDead.id }, "Still dead only")),
		h("button", { type: "submit", class: "secondary" }, "Show"),
	);
	filters.addEventListener("submit", (event) => {
		event.preventDefault();
		const next = new URLSearchParams();
		if (destination.value !== "") next.set("destination", destination.value);
		if (!stillDead.checked) next.set("history", "1");
		const hash = `#/dead?${next.toString()}`;
		if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
		else location.hash = hash;
	});
	main.append(
		heading("Dead letters"),
		h(
			"p",
			{ class: "muted" },
			"Deliveries the destination refused for good, or that ran out of retries. A replay sends them again with their original ids.",
		),
		filters,
		error,
	);

	let listed: Map<Key, Delivery>;
	let states: Map<string, EventDeliveries>;
	try {
		const [named, found] = await Promise.all([
			admin<Destinations>("/destinations").catch(() => ({ items: [] })),
			deaths(chosen, history),
		]);
		listed = found;
		const names = new Set([
			...named.items.map((item) => item.name),
			...[...found.values()].map((row) => row.destination),
		]);
		if (chosen !== "") names.add(chosen);
		for (const name of [...names].sort())
			destination.append(h("option", { value: name, selected: name === chosen }, name));
		states = await deliveryStatus([...found.values()].map((row) => row.eventId));
	} catch (caught) {
		showError(error, caught);
		return;
	}

	const replaySelected = h("button", { type: "button", disabled: true }, "Replay selected");
	const replayAll = h(
		"button",
		{ type: "button", class: "secondary", disabled: chosen === "" },
		chosen === "" ? "Replay every dead event of a destination (choose one)" : `Replay every dead event of ${chosen}`,
	);
	main.append(h("div", { class: "actions" }, replaySelected, replayAll), status);
	if (listed.size === 0) {
		main.append(h("p", {}, history ? "No dead delivery on record." : "No dead events."));
		return;
	}

	const all = h("input", { type: "checkbox", id: "select-all" });
	const boxes: HTMLInputElement[] = [];
	const now = new Map<Key, HTMLTableCellElement>();
	const body = h("tbody");
	const update = () => {
		const picked = boxes.filter((box) => box.checked).length;
		replaySelected.disabled = picked === 0;
		replaySelected.textContent = picked === 0 ? "Replay selected" : `Replay selected (${picked})`;
		all.checked = picked === boxes.length;
		all.indeterminate = picked > 0 && picked < boxes.length;
	};
	const showNow = (key: Key) => {
		const { eventId, destination: name } = partsOf(key);
		const state = states.get(eventId)?.deliveries.find((one) => one.destination === name);
		const cell = now.get(key);
		if (cell === undefined) return;
		cell.replaceChildren();
		append(cell, state === undefined ? ["—"] : deliveryStateLine(state));
	};
	for (const [key, death] of listed) {
		const event = states.get(death.eventId);
		const box = h("input", { type: "checkbox", value: key, id: `pick-${death.eventId}-${death.destination}` });
		box.addEventListener("change", update);
		boxes.push(box);
		const cell = h("td", { "data-label": "Now" });
		now.set(key, cell);
		const error = event?.errorCode === null || event === undefined ? "" : ` (${errorCodeText(event.errorCode)})`;
		body.append(
			h(
				"tr",
				{},
				h(
					"td",
					{ "data-label": "Select" },
					box,
					h("label", { for: box.id, class: "visually-hidden" }, `Select ${death.eventId} for ${death.destination}`),
				),
				h(
					"td",
					{ "data-label": "Message" },
					event === undefined
						? code(death.eventId)
						: h("a", { href: `#/message/${encodeURIComponent(event.messageId)}` }, event.messageId),
				),
				h("td", { "data-label": "Type" }, `${typeText(event?.type)}${error}`),
				h("td", { "data-label": "Recipient" }, code(event?.recipient)),
				h("td", { "data-label": "Destination" }, code(death.destination)),
				h("td", { "data-label": "Attempt" }, String(death.attempt)),
				h("td", { "data-label": "Answer" }, h("strong", {}, httpText(death.httpStatus)), " ", answerText(death.error)),
				h("td", { "data-label": "Died at" }, formatTime(death.at)),
				cell,
			),
		);
		showNow(key);
	}
	all.addEventListener("change", () => {
		for (const box of boxes) box.checked = all.checked;
		update();
	});
	const head = h(
		"tr",
		{},
		h("th", { scope: "col" }, all, h("label", { for: "select-all", class: "visually-hidden" }, "Select all")),
		...["Message", "Type", "Recipient", "Destination", "Attempt", "Answer", "Died at", "Now"].map((text) =>
			h("th", { scope: "col" }, text),
		),
	);
	const caption = `${history ? "Dead deliveries on record" : "Dead now"} (${listed.size}${listed.size >= LIST_MAX ? "+" : ""})`;
	main.append(
		h(
			"div",
			{ class: "scroll", role: "region", "aria-label": "Dead events", tabindex: 0 },
			h("table", {}, h("caption", {}, caption), h("thead", {}, head), body),
		),
	);

	// After a replay, its deliveries are watched until each has an outcome; the user can pause it.
	let watcher: Refresher | null = null;
	const watch = (keys: readonly Key[], enqueued: string) => {
		watcher?.stop();
		const load = async () => {
			const fresh = await deliveryStatus(keys.map((key) => partsOf(key).eventId));
			for (const [id, item] of fresh) states.set(id, item);
			for (const key of keys) showNow(key);
			const watched = keys.flatMap((key) => {
				const { eventId, destination: name } = partsOf(key);
				const state = states.get(eventId)?.deliveries.find((one) => one.destination === name);
				return state === undefined ? [] : [state];
			});
			const waiting = watched.filter((state) => !settled(state)).length;
			status.textContent = `${enqueued} ${replaySummary(watched)}.${waiting === 0 ? " Replay finished." : ""}`;
			if (waiting === 0) watcher?.stop();
		};
		watcher = autoRefresh(main, load, { everyMs: WATCH_EVERY_MS, what: "Watching the replay" });
		status.after(watcher.element);
		void watcher.now().catch((caught: unknown) => showError(error, caught));
	};

	const replay = async (requests: Array<{ destination: string; body: Record<string, unknown> }>, keys: Key[]) => {
		error.hidden = true;
		status.textContent = "Replaying…";
		const result: ReplayResult = { enqueued: 0, truncated: false };
		try {
			for (const request of requests) {
				const one = await admin<ReplayResult>("/replay", request.body);
				result.enqueued += one.enqueued;
				result.truncated ||= one.truncated;
			}
		} catch (caught) {
			status.textContent = "";
			showError(
				error,
				caught instanceof ApiError && caught.status === 409
					? new Error("Another replay is running; try again in a moment.")
					: caught,
			);
			update();
			return;
		}
		const enqueued = `Enqueued ${result.enqueued}${result.truncated ? " (more remain: replay again for the rest)" : ""}.`;
		watch(keys, enqueued);
		update();
	};

	replaySelected.addEventListener("click", async () => {
		const keys = boxes.filter((box) => box.checked).map((box) => box.value);
		const ok = await confirmAction(
			`Replay ${keys.length} dead deliver${keys.length === 1 ? "y" : "ies"}?`,
			"Each is sent again, only to the destination that refused it, with its original id.",
			"Replay",
		);
		if (!ok) return;
		replaySelected.disabled = true;
		const byDestination = Map.groupBy(keys.map(partsOf), (parts) => parts.destination);
		const requests = [...byDestination].map(([name, parts]) => ({
			destination: name,
			body: { eventIds: parts.map((part) => part.eventId), destination: name },
		}));
		await replay(requests, keys);
	});
	replayAll.addEventListener("click", async () => {
		const ok = await confirmAction(
			`Replay every dead event of ${chosen}?`,
			`Every delivery to ${chosen} that is dead now is sent again with its original id, at most 1,000 a call.`,
			"Replay all",
		);
		if (!ok) return;
		const keys = [...listed.keys()].filter((key) => partsOf(key).destination === chosen);
		await replay([{ destination: chosen, body: { dead: true, destination: chosen } }], keys);
	});
}
