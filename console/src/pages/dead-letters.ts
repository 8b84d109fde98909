import { ApiError, admin, query } from "../api";
import { code, errorBox, formatTime, h, heading, liveStatus, showError } from "../dom";
import type { Delivery, Page, ReplayResult } from "../types";

const POLL_MS = 1000;
/** The rows whose current state the page looks up when it opens, a few requests at a time. */
const LOOKUP_MAX = 200;
const LOOKUP_PARALLEL = 4;
/** A replayed event goes through the queue like any other: seconds locally, more under a backlog. */
const WATCH_MS = 120_000;

/** Each (event, destination) is its own delivery, dead or not. */
type Key = string;
const keyOf = (delivery: Pick<Delivery, "eventId" | "destination">): Key =>
	`${delivery.eventId} ${delivery.destination}`;
const partsOf = (key: Key) => {
	const [eventId = "", destination = ""] = key.split(" ");
	return { eventId, destination };
};

/** The latest attempt of a delivery: what became of it since it died. */
async function latestAttempt(key: Key): Promise<Delivery | undefined> {
	const { eventId, destination } = partsOf(key);
	let cursor: string | null = null;
	let last: Delivery | undefined;
	do {
		const page: Page<Delivery> = await admin<Page<Delivery>>(
			`/deliveries${query({ eventId, destination, limit: 500, cursor })}`,
		);
		last = page.items.at(-1) ?? last;
		cursor = page.nextCursor;
	} while (cursor !== null);
	return last;
}

function outcomeText(delivery: Delivery | undefined): string {
	if (delivery === undefined) return "—";
	if (delivery.outcome === "replayed") return "replayed, waiting…";
	return delivery.httpStatus === null ? delivery.outcome : `${delivery.outcome} (${delivery.httpStatus})`;
}

/**
 * #/dead: dead attempts (GET /v1/deliveries?status=dead), one row per (event, destination) (its
 * latest death), a checkbox each; "Replay selected" posts their ids per destination, so a replay
 * reaches only the destination that refused it, then the page watches each one's latest attempt
 * until the replay has an outcome.
 */
export async function deadLettersPage(main: HTMLElement): Promise<void> {
	const error = errorBox();
	const status = liveStatus();
	const refresh = h("button", { type: "button", class: "secondary" }, "Refresh");
	refresh.addEventListener("click", () => window.dispatchEvent(new HashChangeEvent("hashchange")));
	main.append(
		heading("Dead letters"),
		h(
			"p",
			{ class: "muted" },
			"Events the downstream refused for good, or that ran out of retries. A replay sends them again with their original ids.",
		),
		error,
	);

	const deaths = new Map<Key, Delivery>();
	try {
		let cursor: string | null = null;
		do {
			const page: Page<Delivery> = await admin<Page<Delivery>>(
				`/deliveries${query({ status: "dead", limit: 500, cursor })}`,
			);
			for (const row of page.items) deaths.set(keyOf(row), row);
			cursor = page.nextCursor;
		} while (cursor !== null && deaths.size < LOOKUP_MAX);
	} catch (caught) {
		showError(error, caught);
		return;
	}
	if (deaths.size === 0) {
		main.append(h("p", {}, "No dead events."), refresh);
		return;
	}

	const replay = h("button", { type: "button", disabled: true }, "Replay selected");
	const all = h("input", { type: "checkbox", id: "select-all" });
	const boxes: HTMLInputElement[] = [];
	const outcomes = new Map<Key, HTMLTableCellElement>();
	const body = h("tbody");
	const update = () => {
		const chosen = boxes.filter((box) => box.checked).length;
		replay.disabled = chosen === 0;
		replay.textContent = chosen === 0 ? "Replay selected" : `Replay selected (${chosen})`;
		all.checked = chosen === boxes.length;
		all.indeterminate = chosen > 0 && chosen < boxes.length;
	};
	for (const death of deaths.values()) {
		const box = h("input", {
			type: "checkbox",
			value: keyOf(death),
			id: `pick-${death.eventId}-${death.destination}`,
		});
		box.addEventListener("change", update);
		boxes.push(box);
		const outcome = h("td", { "data-label": "Now" }, "…");
		outcomes.set(keyOf(death), outcome);
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
				h("td", { "data-label": "Event" }, code(death.eventId)),
				h("td", { "data-label": "Destination" }, code(death.destination)),
				h("td", { "data-label": "Attempt" }, String(death.attempt)),
				h("td", { "data-label": "HTTP" }, death.httpStatus === null ? "—" : String(death.httpStatus)),
				h("td", { "data-label": "Error" }, death.error ?? "—"),
				h("td", { "data-label": "Died at" }, formatTime(death.at)),
				outcome,
			),
		);
	}
	all.addEventListener("change", () => {
		for (const box of boxes) box.checked = all.checked;
		update();
	});
	const head = h(
		"tr",
		{},
		h("th", { scope: "col" }, all, h("label", { for: "select-all", class: "visually-hidden" }, "Select all")),
		...["Event", "Destination", "Attempt", "HTTP", "Error", "Died at", "Now"].map((text) =>
			h("th", { scope: "col" }, text),
		),
	);
	const region = h(
		"div",
		{ class: "scroll", role: "region", "aria-label": "Dead events", tabindex: 0 },
		h("table", {}, h("caption", {}, `Dead events (${deaths.size})`), h("thead", {}, head), body),
	);
	main.append(h("div", { class: "actions" }, replay, refresh), status, region);

	// A dead row stays listed after a replay delivered its event: the latest attempt says what is true now.
	const queue = [...deaths.keys()];
	const lookUp = async () => {
		for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
			try {
				const latest = await latestAttempt(id);
				outcomes
					.get(id)
					?.replaceChildren(h("span", { class: `outcome ${latest?.outcome ?? ""}` }, outcomeText(latest)));
			} catch {
				outcomes.get(id)?.replaceChildren("?");
			}
		}
	};
	void Promise.all(Array.from({ length: LOOKUP_PARALLEL }, lookUp));

	replay.addEventListener("click", async () => {
		const eventIds = boxes.filter((box) => box.checked).map((box) => box.value);
		replay.disabled = true;
		error.hidden = true;
		status.textContent = `Replaying ${eventIds.length}…`;
		const byDestination = Map.groupBy(eventIds.map(partsOf), (parts) => parts.destination);
		const result: ReplayResult = { enqueued: 0, truncated: false };
		try {
			for (const [destination, parts] of byDestination) {
				const one = await admin<ReplayResult>("/replay", { eventIds: parts.map((p) => p.eventId), destination });
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
		const enqueued = `Enqueued ${result.enqueued} of ${eventIds.length}${result.truncated ? " (truncated: replay again for the rest)" : ""}.`;
		status.textContent = `${enqueued} Waiting for the outcome…`;
		for (const id of eventIds) outcomes.get(id)?.replaceChildren("replayed, waiting…");
		const deadline = Date.now() + WATCH_MS;
		let pending = new Set(eventIds);
		while (pending.size > 0 && Date.now() < deadline) {
			await new Promise((resolve) => setTimeout(resolve, POLL_MS));
			const next = new Set<string>();
			for (const id of pending) {
				try {
					const latest = await latestAttempt(id);
					outcomes
						.get(id)
						?.replaceChildren(h("span", { class: `outcome ${latest?.outcome ?? ""}` }, outcomeText(latest)));
					if (latest === undefined || latest.outcome === "replayed" || latest.id <= (deaths.get(id)?.id ?? 0))
						next.add(id);
				} catch (caught) {
					showError(error, caught);
					return;
				}
			}
			pending = next;
		}
		const settled = eventIds.length - pending.size;
		status.textContent =
			pending.size === 0
				? `${enqueued} Replay finished: ${settled} of ${eventIds.length} have an outcome.`
				: `${enqueued} ${pending.size} still waiting for an outcome; refresh later.`;
		update();
	});
}
