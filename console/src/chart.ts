/*
 * A destination's last 24 hours as an inline SVG bar chart: one bar per hour, its attempts that
 * failed stacked at the bottom in the failure colour. Built with createElementNS and classes only
 * (the CSP allows no inline style); each bar carries a <title> with its figures, and the chart an
 * accessible summary.
 */

export interface HourFigures {
	hour: string;
	attempts: number;
	failed: number;
}

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 480;
const HEIGHT = 120;
const AXIS = 20;
const TOP = 18;

function svg<TTag extends keyof SVGElementTagNameMap>(
	tag: TTag,
	attributes: Record<string, string | number>,
	text?: string,
): SVGElementTagNameMap[TTag] {
	const element = document.createElementNS(SVG, tag);
	for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
	if (text !== undefined) element.textContent = text;
	return element;
}

const hourOf = (iso: string) => iso.slice(11, 16);
const percent = (part: number, whole: number) => (whole === 0 ? "0 %" : `${((part / whole) * 100).toFixed(1)} %`);

/** One sentence for a screen reader or a test: the day's totals and the worst hour. */
export function chartSummary(hours: readonly HourFigures[]): string {
	const attempts = hours.reduce((sum, hour) => sum + hour.attempts, 0);
	const failed = hours.reduce((sum, hour) => sum + hour.failed, 0);
	if (attempts === 0) return "No attempts in the last 24 hours.";
	const worst = [...hours].sort((a, b) => b.failed - a.failed)[0];
	const worstText =
		worst !== undefined && worst.failed > 0 ? `; most failures at ${hourOf(worst.hour)} UTC (${worst.failed})` : "";
	return `Last 24 hours: ${attempts} attempts, ${failed} failed (${percent(failed, attempts)})${worstText}.`;
}

export function hourlyChart(name: string, hours: readonly HourFigures[]): SVGSVGElement {
	const summary = chartSummary(hours);
	const chart = svg("svg", {
		viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
		class: "chart",
		role: "img",
		"aria-label": `${name}: ${summary}`,
	});
	chart.append(svg("title", {}, `${name}: ${summary}`));
	const most = Math.max(1, ...hours.map((hour) => hour.attempts));
	const plot = HEIGHT - AXIS - TOP;
	const slot = WIDTH / Math.max(1, hours.length);
	chart.append(svg("line", { x1: 0, x2: WIDTH, y1: HEIGHT - AXIS, y2: HEIGHT - AXIS, class: "axis" }));
	chart.append(svg("text", { x: 2, y: TOP - 3, class: "label" }, `${most} attempts`));
	hours.forEach((hour, index) => {
		const x = index * slot + 1;
		const width = Math.max(1, slot - 2);
		const total = (hour.attempts / most) * plot;
		const bad = (hour.failed / most) * plot;
		const group = svg("g", { class: "bar" });
		group.append(
			svg(
				"title",
				{},
				`${hour.hour.slice(0, 10)} ${hourOf(hour.hour)} UTC: ${hour.attempts} attempts, ${hour.failed} failed (${percent(hour.failed, hour.attempts)})`,
			),
		);
		if (total > 0) {
			group.append(
				svg("rect", { x, y: HEIGHT - AXIS - total, width, height: total - bad, class: "ok" }),
				svg("rect", { x, y: HEIGHT - AXIS - bad, width, height: bad, class: "fail" }),
			);
		} else {
			group.append(svg("rect", { x, y: HEIGHT - AXIS - 1, width, height: 1, class: "none" }));
		}
		chart.append(group);
		if (index % 6 === 0) {
			chart.append(svg("text", { x, y: HEIGHT - 4, class: "label" }, hourOf(hour.hour)));
		}
		if (index === hours.length - 1) {
			chart.append(svg("text", { x: x + width, y: HEIGHT - 4, class: "label", "text-anchor": "end" }, "now"));
		}
	});
	return chart;
}
