import { admin, query } from "../api";
import { type Child, code, errorBox, field, h, heading, showError, table } from "../dom";
import type { Insights } from "../types";

/*
 * #/insights?applicationId=&owner=&range=: is our messaging getting through, and if not, why?
 * GET /v1/insights, counted by the hour the messages were sent in. The chart is inline SVG built
 * with createElementNS (no library, no inline style: the CSP allows neither), with the same series
 * as a table beside it for screen readers and for exact values.
 */

const HOUR_MS = 60 * 60 * 1000;
const RANGES = {
	"24h": { label: "Last 24 hours, by hour", ms: 24 * HOUR_MS, granularity: "hour" },
	"7d": { label: "Last 7 days, by hour", ms: 7 * 24 * HOUR_MS, granularity: "hour" },
	"30d": { label: "Last 30 days, by day", ms: 30 * 24 * HOUR_MS, granularity: "day" },
	"90d": { label: "Last 90 days, by day", ms: 90 * 24 * HOUR_MS, granularity: "day" },
} as const;
type Range = keyof typeof RANGES;
const FILTERS = ["applicationId", "owner", "range"] as const;

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 720;
const HEIGHT = 200;
const PAD = { left: 44, right: 8, top: 10, bottom: 24 };

function svg<TTag extends keyof SVGElementTagNameMap>(
	tag: TTag,
	attributes: Record<string, string | number>,
	...children: Array<SVGElement | string>
): SVGElementTagNameMap[TTag] {
	const element = document.createElementNS(SVG, tag);
	for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
	for (const child of children) element.append(child);
	return element;
}

export function percent(rate: number | null): string {
	return rate === null ? "—" : `${(rate * 100).toFixed(1)} %`;
}

export function duration(ms: number | null): string {
	if (ms === null) return "—";
	if (ms < 1000) return `${ms} ms`;
	if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
	if (ms < HOUR_MS) return `${(ms / 60_000).toFixed(1)} min`;
	return `${(ms / HOUR_MS).toFixed(1)} h`;
}

function label(start: string, granularity: Insights["granularity"]): string {
	return granularity === "hour" ? `${start.slice(5, 10)} ${start.slice(11, 16)}` : start.slice(0, 10);
}

/** Delivery rate per period as a line (gaps where a period had no receipts), receipts as bars behind it. */
function rateChart(insights: Insights): SVGSVGElement {
	const points = insights.series;
	const plotWidth = WIDTH - PAD.left - PAD.right;
	const plotHeight = HEIGHT - PAD.top - PAD.bottom;
	const step = plotWidth / Math.max(points.length, 1);
	const x = (index: number) => PAD.left + step * (index + 0.5);
	const y = (rate: number) => PAD.top + plotHeight * (1 - rate);
	const most = Math.max(1, ...points.map((point) => point.delivered + point.failed));
	const rated = points.filter((point) => point.deliveryRate !== null);
	const title = `Delivery rate, ${insights.granularity === "hour" ? "hourly" : "daily"}: ${rated.length} of ${points.length} periods had receipts${
		rated.length > 0 ? `, lowest ${percent(Math.min(...rated.map((point) => point.deliveryRate ?? 1)))}` : ""
	}.`;
	const chart = svg(
		"svg",
		{ viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": title, class: "chart" },
		svg("title", {}, title),
	);
	for (const rate of [0, 0.5, 0.9, 1]) {
		chart.append(
			svg("line", {
				x1: PAD.left,
				x2: WIDTH - PAD.right,
				y1: y(rate),
				y2: y(rate),
				class: rate === 0.9 ? "grid target" : "grid",
			}),
			svg("text", { x: PAD.left - 6, y: y(rate) + 4, class: "axis", "text-anchor": "end" }, `${rate * 100} %`),
		);
	}
	points.forEach((point, index) => {
		const receipts = point.delivered + point.failed;
		if (receipts === 0) return;
		const height = (plotHeight * receipts) / most;
		chart.append(
			svg("rect", {
				x: x(index) - step * 0.4,
				y: PAD.top + plotHeight - height,
				width: Math.max(1, step * 0.8),
				height,
				class: "volume",
			}),
		);
	});
	// One path per run of periods with receipts: a period without any is a gap, not a zero.
	let run: string[] = [];
	const flush = () => {
		if (run.length > 0) chart.append(svg("path", { d: `M${run.join("L")}`, class: "rate" }));
		run = [];
	};
	points.forEach((point, index) => {
		if (point.deliveryRate === null) {
			flush();
			return;
		}
		run.push(`${x(index).toFixed(1)},${y(point.deliveryRate).toFixed(1)}`);
		chart.append(svg("circle", { cx: x(index), cy: y(point.deliveryRate), r: 2.5, class: "rate-point" }));
	});
	flush();
	const every = Math.max(1, Math.ceil(points.length / 6));
	points.forEach((point, index) => {
		if (index % every !== 0) return;
		chart.append(
			svg(
				"text",
				{ x: x(index), y: HEIGHT - 6, class: "axis", "text-anchor": "middle" },
				label(point.start, insights.granularity),
			),
		);
	});
	return chart;
}

function figure(name: string, value: string | number, tone = ""): HTMLElement {
	return h("div", { class: `figure ${tone}` }, h("dt", {}, name), h("dd", {}, String(value)));
}

function filterLink(params: URLSearchParams, name: "applicationId" | "owner", value: string, text: Child): HTMLElement {
	const next = new URLSearchParams(params);
	next.set(name, value);
	return h("a", { href: `#/insights?${next.toString()}` }, text);
}

function sections(insights: Insights, params: URLSearchParams): HTMLElement[] {
	const { totals } = insights;
	const rateTone = totals.deliveryRate === null ? "" : totals.deliveryRate >= 0.9 ? "good" : "bad";
	const failures = totals.failed;
	return [
		h(
			"dl",
			{ class: "figures", "aria-label": "Totals" },
			figure("Sent", totals.sent),
			figure("Delivered", totals.delivered),
			figure("Failed", totals.failed, totals.failed > 0 ? "warn" : ""),
			figure("Delivery rate", percent(totals.deliveryRate), rateTone),
			figure("Latency p50", duration(totals.latencyMs.p50)),
			figure("Latency p95", duration(totals.latencyMs.p95)),
			figure("Received SMS", totals.receivedSms),
			figure("Received MMS", totals.receivedMms),
		),
		h(
			"section",
			{ "aria-labelledby": "rate-heading" },
			h("h2", { id: "rate-heading" }, "Delivery rate over time"),
			rateChart(insights),
			h(
				"details",
				{},
				h("summary", {}, "The series as a table"),
				table(
					"Delivery rate by period",
					["Period (UTC)", "Sent", "Delivered", "Failed", "Rate", "Received"],
					insights.series.map((point) => [
						label(point.start, insights.granularity),
						point.sent,
						point.delivered,
						point.failed,
						percent(point.deliveryRate),
						point.received,
					]),
				),
			),
		),
		h(
			"section",
			{ "aria-labelledby": "codes-heading" },
			h("h2", { id: "codes-heading" }, "Failures by error code"),
			totals.errorCodes.length === 0
				? h("p", { class: "muted" }, "No failures in this window.")
				: table(
						"Failures by error code, most first",
						["Code", "Name", "Failures", "Share", "What to do"],
						totals.errorCodes.map((error) => [
							code(error.code === 0 ? "none" : error.code),
							h("span", { title: error.description ?? "" }, error.name ?? error.description ?? "unknown"),
							error.count,
							percent(failures === 0 ? null : error.count / failures),
							error.remediation ?? "—",
						]),
					),
		),
		h(
			"section",
			{ "aria-labelledby": "numbers-heading" },
			h("h2", { id: "numbers-heading" }, "Numbers with the most failures"),
			insights.numbers.length === 0
				? h("p", { class: "muted" }, "No messages in this window.")
				: table(
						"Numbers with the most failures",
						["Number", "Sent", "Delivered", "Failed", "Rate"],
						insights.numbers.map((row) => [
							filterLink(params, "owner", row.owner, code(row.owner)),
							row.sent,
							row.delivered,
							row.failed,
							percent(row.deliveryRate),
						]),
					),
		),
		h(
			"section",
			{ "aria-labelledby": "applications-heading" },
			h("h2", { id: "applications-heading" }, "Applications"),
			insights.applications.length === 0
				? h("p", { class: "muted" }, "No messages in this window.")
				: table(
						"Applications, most messages first",
						["Application", "Sent", "Delivered", "Failed", "Rate", "Received"],
						insights.applications.map((row) => [
							filterLink(params, "applicationId", row.applicationId, code(row.applicationId)),
							row.sent,
							row.delivered,
							row.failed,
							percent(row.deliveryRate),
							row.received,
						]),
					),
		),
	];
}

export async function insightsPage(main: HTMLElement, params: URLSearchParams): Promise<void> {
	const error = errorBox();
	const range: Range = (params.get("range") ?? "") in RANGES ? (params.get("range") as Range) : "24h";
	const form = h(
		"form",
		{ class: "filters", method: "post", "aria-label": "Insights filters" },
		field("Application id", "applicationId", params.get("applicationId") ?? "", { placeholder: "any" }),
		field("Number", "owner", params.get("owner") ?? "", { placeholder: "any, e.g. +15551234567" }),
		h(
			"div",
			{ class: "field" },
			h("label", { for: "field-range" }, "Range"),
			h(
				"select",
				{ id: "field-range", name: "range" },
				...Object.entries(RANGES).map(([value, { label }]) => h("option", { value, selected: value === range }, label)),
			),
		),
		h("div", { class: "actions" }, h("button", { type: "submit" }, "Show")),
	);
	form.addEventListener("submit", (event) => {
		event.preventDefault();
		const data = new FormData(form);
		const chosen = new URLSearchParams();
		for (const name of FILTERS) {
			const entry = data.get(name)?.toString().trim() ?? "";
			if (entry !== "") chosen.set(name, entry);
		}
		const next = `#/insights?${chosen.toString()}`;
		if (location.hash === next) window.dispatchEvent(new HashChangeEvent("hashchange"));
		else location.hash = next;
	});
	main.append(
		heading("Insights"),
		h(
			"p",
			{ class: "muted" },
			`${RANGES[range].label}. Counted per message and recipient by the hour the messages were sent in (a late receipt joins its message's hour), about a minute behind; latency is from sending to delivery, within 12 %.`,
		),
		form,
		error,
	);
	const until = Date.now();
	try {
		const insights = await admin<Insights>(
			`/insights${query({
				since: new Date(until - RANGES[range].ms).toISOString(),
				until: new Date(until).toISOString(),
				granularity: RANGES[range].granularity,
				applicationId: params.get("applicationId"),
				owner: params.get("owner"),
			})}`,
		);
		main.append(...sections(insights, params));
	} catch (caught) {
		showError(error, caught);
	}
}
