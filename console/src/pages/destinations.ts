import { ApiError, admin } from "../api";
import { hourlyChart } from "../chart";
import { confirmAction } from "../confirm";
import { code, errorBox, formatTime, h, heading, liveStatus, showError } from "../dom";
import { answerText, httpText } from "../names";
import { autoRefresh } from "../refresh";
import { destinationState } from "../states";
import type { Destination, Destinations, ReplayResult } from "../types";

function figure(label: string, ...value: Array<Node | string>): HTMLElement {
	return h("div", { class: "figure" }, h("dt", {}, label), h("dd", {}, ...value));
}

const percent = (rate: number | null) =>
	rate === null ? "—" : `${(rate * 100).toFixed(rate > 0 && rate < 0.01 ? 2 : 0)} %`;

function limits(d: Destination): string {
	const parts = [
		d.maxPerSecond === null ? null : `${d.maxPerSecond}/s`,
		d.maxConcurrency === null ? null : `${d.maxConcurrency} at once`,
		`timeout ${d.timeoutMs / 1000} s`,
	];
	return parts.filter((part) => part !== null).join(" · ");
}

/** A datetime-local value (the browser's own time zone) as UTC ISO, or null when empty or not a time. */
function utcOf(local: string): string | null {
	if (local === "") return null;
	const at = new Date(local);
	return Number.isNaN(at.getTime()) ? null : at.toISOString();
}

/** One destination: its state in words, figures, 24 h chart, and its actions, each confirmed. */
class DestinationCard {
	readonly element: HTMLElement;
	#current: Destination;
	readonly #state = h("p", { class: "state-line" });
	readonly #figures = h("dl", { class: "figures" });
	readonly #chart = h("div", { class: "chart-box" });
	readonly #pause = h("button", { type: "button" });
	readonly #probe = h("button", { type: "button", class: "secondary" }, "Probe now");
	readonly #status = liveStatus();
	readonly #error = errorBox();

	constructor(
		destination: Destination,
		private readonly reload: () => Promise<void>,
	) {
		this.#current = destination;
		const name = destination.name;
		const since = h("input", { type: "datetime-local", id: `since-${name}`, name: "since", required: true });
		const until = h("input", { type: "datetime-local", id: `until-${name}`, name: "until" });
		const replay = h("button", { type: "submit", class: "secondary" }, "Replay this range");
		const range = h(
			"form",
			{ class: "inline range", method: "post", "aria-label": `Replay a time range to ${name}` },
			h("div", { class: "field" }, h("label", { for: since.id }, "From (your local time)"), since),
			h("div", { class: "field" }, h("label", { for: until.id }, "Until (empty: now)"), until),
			replay,
		);
		range.addEventListener("submit", (event) => {
			event.preventDefault();
			void this.#replayRange(utcOf(since.value), utcOf(until.value));
		});
		this.#pause.addEventListener("click", () => void this.#togglePause());
		this.#probe.addEventListener("click", () => void this.#probeNow());
		this.element = h(
			"article",
			{ class: "card destination", "aria-labelledby": `destination-${name}` },
			h("h2", { id: `destination-${name}` }, name),
			this.#state,
			this.#figures,
			this.#chart,
			h("div", { class: "actions" }, this.#pause, this.#probe),
			h("details", {}, h("summary", {}, "Replay a time range"), range),
			this.#status,
			this.#error,
		);
		this.update(destination);
	}

	update(d: Destination): void {
		this.#current = d;
		const state = destinationState(d);
		this.#state.replaceChildren(h("span", { class: `state ${state.tone}` }, state.words));
		const waiting = d.backlog !== null && d.backlog > 0 && d.backlogSince !== null;
		this.#figures.replaceChildren(
			figure("URL", code(d.url)),
			figure("Last success", formatTime(d.lastSuccessAt)),
			figure("Last failure", formatTime(d.lastFailureAt)),
			figure("Last error", d.lastError === null ? "—" : answerTextWithStatus(d.lastError)),
			figure(
				"Backlog",
				d.backlog === null ? "—" : String(d.backlog),
				...(waiting ? [" since ", formatTime(d.backlogSince)] : []),
			),
			figure("Failures, 15 min", `${percent(d.recentFailureRate)} of ${d.recentAttempts ?? 0}`),
			figure("Rate now", d.currentRate === null ? "—" : `${d.currentRate}/s`),
			figure("Limits", limits(d)),
		);
		this.#chart.replaceChildren(
			d.hourly === null
				? h("p", { class: "muted" }, "No chart: its gate did not answer.")
				: hourlyChart(d.name, d.hourly),
		);
		this.#pause.textContent = d.paused ? "Resume" : "Pause";
		this.#pause.disabled = d.paused === null;
		this.#probe.disabled = d.breaker === null || d.breaker === "closed";
	}

	async #act(question: string, detail: string, label: string, run: () => Promise<string>): Promise<void> {
		if (!(await confirmAction(question, detail, label))) return;
		this.#error.hidden = true;
		this.#status.textContent = `${label}…`;
		try {
			this.#status.textContent = await run();
			await this.reload();
		} catch (caught) {
			this.#status.textContent = "";
			showError(this.#error, caught);
		}
	}

	async #togglePause(): Promise<void> {
		const d = this.#current;
		const path = `/destinations/${encodeURIComponent(d.name)}`;
		if (d.paused) {
			await this.#act(
				`Resume ${d.name}?`,
				`Its ${d.backlog ?? 0} held events are sent back to the queue at once, and go at its rate limit.`,
				"Resume",
				async () => {
					const after = await admin<Destination>(`${path}/resume`, {});
					return `Resumed: ${after.backlog ?? 0} held events are on their way.`;
				},
			);
		} else {
			await this.#act(
				`Pause ${d.name}?`,
				"Its events are kept, none is sent, until you resume it. Nothing is dropped.",
				"Pause",
				async () => {
					await admin<Destination>(`${path}/pause`, {});
					return "Paused: its events are kept until you resume it.";
				},
			);
		}
	}

	async #probeNow(): Promise<void> {
		const d = this.#current;
		await this.#act(
			`Probe ${d.name} now?`,
			"One held event is sent now as the breaker's probe. If it is delivered the breaker closes and the rest follow; if not, the breaker stays open.",
			"Probe now",
			async () => {
				try {
					await admin<Destination>(`/destinations/${encodeURIComponent(d.name)}/probe`, {});
					return "Probe sent: the next refresh shows whether it closed the breaker.";
				} catch (caught) {
					if (caught instanceof ApiError && caught.status === 409) return "The breaker is closed: nothing to probe.";
					throw caught;
				}
			},
		);
	}

	async #replayRange(since: string | null, until: string | null): Promise<void> {
		const d = this.#current;
		if (since === null) {
			showError(this.#error, "Choose when the range starts.");
			return;
		}
		const to = until ?? new Date().toISOString();
		await this.#act(
			`Replay events to ${d.name}?`,
			`Every event with an event time from ${since} to ${to} (UTC) is sent to ${d.name} again with its original id, at most 1,000 a call.`,
			"Replay",
			async () => {
				const result = await admin<ReplayResult>("/replay", { since, until: to, destination: d.name });
				return `Enqueued ${result.enqueued} events${result.truncated ? " (more remain: replay the range again)" : ""}.`;
			},
		);
	}
}

/** "503 Service Unavailable: upstream down" from the relay's "HTTP 503: upstream down". */
function answerTextWithStatus(error: string): string {
	const status = /^HTTP (\d{3})/.exec(error)?.[1];
	return status === undefined ? error : `${httpText(Number(status))}: ${answerText(error)}`;
}

/** #/destinations: each destination's state, figures, 24 h chart and actions, refreshed every 10 s. */
export async function destinationsPage(main: HTMLElement): Promise<void> {
	const error = errorBox();
	const list = h("div", { class: "cards" });
	main.append(
		heading("Destinations"),
		h(
			"p",
			{ class: "muted" },
			"Where events are forwarded. A paused destination, or one whose breaker is open, keeps its events and sends them once it lets events through again.",
		),
		error,
	);
	const cards = new Map<string, DestinationCard>();
	const load = async () => {
		const answer = await admin<Destinations>("/destinations");
		error.hidden = true;
		for (const destination of answer.items) {
			const card = cards.get(destination.name);
			if (card === undefined) {
				const made = new DestinationCard(destination, () => refresher.now());
				cards.set(destination.name, made);
				list.append(made.element);
			} else card.update(destination);
		}
		if (answer.items.length === 0)
			list.replaceChildren(h("p", {}, "No destination: events are stored, not forwarded."));
	};
	const refresher = autoRefresh(main, load);
	main.append(refresher.element, list);
	try {
		await refresher.now();
	} catch (caught) {
		showError(error, caught);
	}
}
