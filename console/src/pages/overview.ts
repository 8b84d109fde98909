import { admin, health } from "../api";
import { code, errorBox, formatBytes, formatTime, h, heading, showError, table } from "../dom";
import type { Destinations, Health, Stats } from "../types";

const HOUR_MS = 60 * 60 * 1000;

function counts(label: string, tally: Record<string, number>, keyHeader: string): HTMLElement {
	const rows = Object.entries(tally)
		.sort(([, a], [, b]) => b - a)
		.map(([key, n]) => [code(key), n]);
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
		counts(`${title}: by error code`, stats.events.byErrorCode, "Error code"),
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

/** Each destination's breaker and pause, as its gate reports them: what on-call checks first. */
function destinationsSection(destinations: Destinations | null): HTMLElement {
	const body =
		destinations === null
			? h("p", { class: "muted" }, "Destinations could not be read (see the relay's config_invalid log line).")
			: destinations.items.length === 0
				? h("p", { class: "muted" }, "No destination: events are stored, not forwarded.")
				: table(
						"Destinations",
						["Destination", "State", "Last success", "Last failure", "Failures (15 min)", "Backlog", "Rate /s"],
						destinations.items.map((d) => {
							const state = d.paused ? "paused" : (d.breaker ?? "unknown");
							const tone = state === "closed" ? "good" : state === "unknown" ? "" : "bad";
							return [
								code(d.name),
								h("span", { class: `state ${tone}` }, state),
								d.lastSuccessAt ? formatTime(d.lastSuccessAt) : "—",
								d.lastFailureAt ? formatTime(d.lastFailureAt) : "—",
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
	);
}

export async function overviewPage(main: HTMLElement): Promise<void> {
	const error = errorBox();
	main.append(heading("Overview"), error);
	const now = Date.now();
	try {
		const [report, hour, day, destinations] = await Promise.all([
			health<Health>(),
			admin<Stats>(`/stats?since=${new Date(now - HOUR_MS).toISOString()}`),
			admin<Stats>(`/stats?since=${new Date(now - 24 * HOUR_MS).toISOString()}`),
			// A misconfigured DESTINATIONS answers 503: the rest of the page still shows.
			admin<Destinations>("/destinations").catch(() => null),
		]);
		main.append(
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
	} catch (caught) {
		showError(error, caught);
	}
}
