import { admin, health } from "../api";
import { type Child, code, errorBox, formatBytes, formatTime, h, heading, showError, table } from "../dom";
import { answerText, errorCodeText, httpText } from "../names";
import { autoRefresh } from "../refresh";
import { destinationState } from "../states";
import type { Destinations, Health, Stats } from "../types";

const HOUR_MS = 60 * 60 * 1000;

function counts(
	label: string,
	tally: Record<string, number>,
	keyHeader: string,
	name: (key: string) => string = (key) => key,
): HTMLElement {
	const rows = Object.entries(tally)
		.sort(([, a], [, b]) => b - a)
		.map(([key, n]) => [code(name(key)), n]);
	if (rows.length === 0) return h("p", { class: "muted" }, `${label}: none`);
	return table(label, [keyHeader, "Count"], rows);
}

function figure(label: string, value: string | number, tone = ""): HTMLElement {
	return h("div", { class: `figure ${tone}` }, h("dt", {}, label), h("dd", {}, String(value)));
}

function windowSection(title: string, id: string, stats: Stats): HTMLElement {
	return h(
		"section",
		{ "aria-labelledby": id },
		h("h2", { id }, title),
		h("p", { class: "muted" }, "Since ", formatTime(stats.since), " (by the events' own time)"),
		h(
			"dl",
			{ class: "figures" },
			figure("Events", stats.events.total),
			figure("Quarantined", stats.quarantined, stats.quarantined > 0 ? "warn" : ""),
		),
		counts(`${title}: by type`, stats.events.byType, "Type"),
		counts(`${title}: by status`, stats.events.byStatus, "Status"),
		counts(`${title}: by error code`, stats.events.byErrorCode, "Error code", errorCodeText),
	);
}

function storageSection(report: Health, dead: number): HTMLElement {
	const d1 = report.storage?.d1;
	const used = d1 && d1.budgetBytes > 0 ? `${((d1.sizeBytes / d1.budgetBytes) * 100).toFixed(1)} %` : "—";
	return h(
		"section",
		{ "aria-labelledby": "relay-heading" },
		h("h2", { id: "relay-heading" }, "Relay"),
		h(
			"dl",
			{ class: "figures" },
			figure("Status", report.status, report.status === "ok" ? "good" : "bad"),
			figure("D1", report.d1, report.d1 === "ok" ? "" : "bad"),
			figure("D1 size", d1 ? formatBytes(d1.sizeBytes) : "—"),
			figure("D1 budget", d1 ? `${formatBytes(d1.budgetBytes)} (${used} used)` : "—"),
			figure("History from", d1?.historyFrom ? d1.historyFrom.slice(0, 19).replace("T", " ") : "—"),
			figure("Dead (to replay)", dead, dead > 0 ? "bad" : ""),
			figure("Version", report.version),
		),
	);
}

function percent(rate: number | null): string {
	return rate === null ? "—" : `${(rate * 100).toFixed(rate > 0 && rate < 0.01 ? 2 : 0)} %`;
}

/** The last error with its status named: "503 Service Unavailable: upstream down". */
function lastError(error: string | null): Child {
	if (error === null) return "—";
	const status = /^HTTP (\d{3})/.exec(error)?.[1];
	return status === undefined ? error : `${httpText(Number(status))}: ${answerText(error)}`;
}

/** Each destination's state in words, as its gate reports it: what on-call checks first. */
function destinationsSection(destinations: Destinations | null): HTMLElement {
	const body =
		destinations === null
			? h("p", { class: "muted" }, "Destinations could not be read (see the relay's config_invalid log line).")
			: destinations.items.length === 0
				? h("p", { class: "muted" }, "No destination: events are stored, not forwarded.")
				: table(
						"Destinations",
						["Destination", "State", "Last error", "Failures (15 min)", "Backlog", "Rate /s"],
						destinations.items.map((d) => {
							const state = destinationState(d);
							return [
								h("a", { href: "#/destinations" }, d.name),
								h("span", { class: `state ${state.tone}` }, state.words),
								d.lastError === null
									? "—"
									: h(
											"span",
											{},
											lastError(d.lastError),
											h("br"),
											h("small", { class: "muted" }, formatTime(d.lastFailureAt)),
										),
								percent(d.recentFailureRate),
								d.backlog ?? "—",
								d.currentRate ?? "—",
							];
						}),
					);
	return h(
		"section",
		{ "aria-labelledby": "destinations-heading" },
		h("h2", { id: "destinations-heading" }, "Destinations"),
		body,
		h("p", {}, h("a", { href: "#/destinations" }, "Pause, resume, probe or replay a destination")),
	);
}

/** #/overview: the relay's health, its destinations and the last hour's and day's counts, refreshed every 10 s. */
export async function overviewPage(main: HTMLElement): Promise<void> {
	const error = errorBox();
	const content = h("div", {});
	const load = async () => {
		const now = Date.now();
		const [report, hour, day, destinations] = await Promise.all([
			health<Health>(),
			admin<Stats>(`/stats?since=${new Date(now - HOUR_MS).toISOString()}`),
			admin<Stats>(`/stats?since=${new Date(now - 24 * HOUR_MS).toISOString()}`),
			// A misconfigured DESTINATIONS answers 503: the rest of the page still shows.
			admin<Destinations>("/destinations").catch(() => null),
		]);
		error.hidden = true;
		content.replaceChildren(
			storageSection(report, day.dead),
			destinationsSection(destinations),
			h(
				"p",
				{},
				h("a", { href: "#/dead" }, `Dead letters: ${day.dead}`),
				" · ",
				h("a", { href: "#/quarantine" }, `Quarantine: ${day.quarantined} in 24 h`),
			),
			h(
				"div",
				{ class: "columns" },
				windowSection("Last hour", "hour-heading", hour),
				windowSection("Last 24 hours", "day-heading", day),
			),
		);
	};
	const refresher = autoRefresh(main, load);
	main.append(heading("Overview"), refresher.element, error, content);
	try {
		await refresher.now();
	} catch (caught) {
		showError(error, caught);
	}
}
