import { type AllInInput, allInAt, DEFAULT_LIFE_SETTINGS, leavingWay } from "../../bench/all-in.ts";
import {
	type BillLine,
	billTotal,
	bindsFirst,
	fmt,
	type LimitRow,
	limitsAt,
	monthlyBill,
	type PerEvent,
	rateAtLimit,
	type Settings,
} from "./capacity-model.ts";

/** Where the per-event figures came from, for the reader of a table. */
export interface Source {
	file: string;
	generated: string | null;
	command: string | null;
	scenario: string;
}

export const START = "<!-- capacity:start -->";
export const END = "<!-- capacity:end -->";

function loadText(item: LimitRow): string {
	if (item.load === null) return "not measured";
	if (item.detail !== null) return item.detail;
	if (!item.scales) {
		const shown =
			item.unit === "writes/s" ? `${fmt(item.load * 3600, 0)} an hour` : `${fmt(item.load, 0)} ${item.unit}`;
		return `${shown}, any rate`;
	}
	const value =
		item.unit === "bytes"
			? `${fmt(item.load / 1e9, item.load < 1e9 ? 2 : 1)} GB`
			: `${fmt(item.load, item.load < 10 ? 2 : 0)} ${item.unit}`;
	return item.utilization === null
		? value
		: `${value} (${fmt(item.utilization * 100, item.utilization < 0.1 ? 1 : 0)} %)`;
}

function capacityText(item: LimitRow): string {
	return item.unit === "bytes" ? `${fmt(item.capacity / 1e9, 0)} GB` : `${fmt(item.capacity, 0)} ${item.unit}`;
}

function billUnit(line: BillLine): string {
	return line.unit === "subscription" ? "Workers Paid subscription" : line.unit;
}

function sourceLine(source: Source, settings: Settings): string {
	const when = source.generated === null ? "" : `, generated ${source.generated}`;
	const by = source.command === null ? "" : ` by \`${source.command}\``;
	return (
		`Per-event figures from \`${source.file}\`${when}${by}, scenario \`${source.scenario}\` (the relay's meter, ` +
		`units per event sent). Settings: LEDGER_BUCKETS ${settings.buckets}, DEDUPE_DAYS ${settings.dedupeDays}, ` +
		`RETENTION_DAYS ${settings.retentionDays}, D1_BUDGET_MB ${fmt(settings.d1BudgetBytes / 1e6, 0)}, ` +
		`${settings.postSeconds} s per forward POST.`
	);
}

/**
 * The all-in price at `rate` (bench/all-in.ts) from the bench's steady-state scenario, with these
 * settings: what an event costs over its whole life at list prices, nothing subtracted. The bill
 * beside it is the first pass's units only.
 */
export function allInText(rate: number, allIn: AllInInput, settings: Settings): string {
	const result = allInAt(rate, allIn, {
		...DEFAULT_LIFE_SETTINGS,
		buckets: settings.buckets,
		dedupeDays: settings.dedupeDays,
		retentionDays: settings.retentionDays,
		d1BudgetBytes: settings.d1BudgetBytes,
	});
	const way = leavingWay(result);
	return `$${fmt(result.usdPerMillionEvents, 2)}${result.leavingMeasured ? "" : ` (${way} not measured)`}`;
}

/** The plain-text answer to `npm run capacity -- --rate N`. */
export function textReport(
	rate: number,
	perEvent: PerEvent,
	settings: Settings,
	source: Source,
	allIn: AllInInput | null = null,
): string {
	const rows = limitsAt(rate, perEvent, settings);
	const width = Math.max(...rows.map((item) => item.limit.length));
	const lines = [`Capacity at ${fmt(rate, 0)} events/s`, sourceLine(source, settings), ""];
	for (const item of rows) {
		lines.push(
			`${item.limit.padEnd(width)}  ${loadText(item).padStart(26)} of ${capacityText(item).padEnd(16)} ${item.use}`,
		);
	}
	const first = bindsFirst(rows);
	lines.push("", first === null ? "Nothing binds at this rate." : `Binds first: ${first.limit} (${first.note}).`, "");
	const bill = monthlyBill(rate, perEvent, settings);
	lines.push("Monthly bill (30 days, list prices, included amounts subtracted):");
	for (const line of bill)
		lines.push(`  ${billUnit(line).padEnd(26)} ${line.usd === null ? "not measured" : `$${fmt(line.usd, 2)}`}`);
	const total = billTotal(bill);
	lines.push(
		`  ${"total".padEnd(26)} $${fmt(total, 2)}  ($${fmt(total / ((rate * 30 * 86_400) / 1e6), 2)} per million events)`,
	);
	if (allIn !== null)
		lines.push(
			"",
			`All-in per million events (the bench's steady state: the first pass with Bandwidth's credential-less first ` +
				`attempt, leaving D1, archive, cron, storage held; list prices, nothing subtracted): ${allInText(rate, allIn, settings)}`,
		);
	return lines.join("\n");
}

/** The section docs/capacity.md embeds: limits and the monthly bill at each rate. */
export function markdownReport(
	rates: readonly number[],
	perEvent: PerEvent,
	settings: Settings,
	source: Source,
	allIn: AllInInput | null = null,
): string {
	const header = `| Limit | Limit's value | Per event or invocation | 100 % at | ${rates.map((rate) => `${fmt(rate, 0)} ev/s`).join(" | ")} |`;
	const align = `|---|--:|---|--:|${rates.map(() => "--:|").join("")}`;
	const byRate = rates.map((rate) => limitsAt(rate, perEvent, settings));
	const reached = (item: LimitRow) => {
		const at = rateAtLimit(item, rates[0] ?? 1);
		return at === null ? "—" : `${fmt(at, 0)} ev/s`;
	};
	const rows = (byRate[0] ?? []).map(
		(item, index) =>
			`| ${item.limit} | ${capacityText(item)} | ${item.use} | ${reached(item)} | ${byRate.map((rows) => loadText(rows[index] as LimitRow)).join(" | ")} |`,
	);
	const binds = `| **binds first** | | | | ${byRate.map((rows) => bindsFirst(rows)?.limit ?? "nothing").join(" | ")} |`;
	const bills = rates.map((rate) => monthlyBill(rate, perEvent, settings));
	const billRows = (bills[0] ?? []).map(
		(line, index) =>
			`| ${billUnit(line)} | ${bills.map((lines) => ((lines[index] as BillLine).usd === null ? "not measured" : fmt((lines[index] as BillLine).usd, 0))).join(" | ")} |`,
	);
	const totals = bills.map(billTotal);
	return [
		START,
		"<!-- Generated by `npm run capacity -- --markdown --write docs/capacity.md`; edit scripts/capacity.ts, not this. -->",
		"",
		sourceLine(source, settings),
		"",
		header,
		align,
		...rows,
		binds,
		"",
		`Notes: ${(byRate[0] ?? []).map((item) => `*${item.limit}*: ${item.note}.`).join(" ")}`,
		"",
		"Monthly bill in dollars (30 days, list prices of `bench/prices.ts`, included amounts subtracted; the cron's",
		"invocation and one `maintain` call per bucket every minute added to Worker and Durable Object requests):",
		"",
		`| $/month | ${rates.map((rate) => `${fmt(rate, 0)} ev/s`).join(" | ")} |`,
		`|---|${rates.map(() => "--:|").join("")}`,
		...billRows,
		`| **total** | ${totals.map((total) => `**${fmt(total, 0)}**`).join(" | ")} |`,
		`| per million events | ${totals.map((total, index) => `$${fmt(total / (((rates[index] ?? 1) * 30 * 86_400) / 1e6), 2)}`).join(" | ")} |`,
		...(allIn === null
			? []
			: [
					`| all-in per million events (list prices, nothing subtracted) | ${rates.map((rate) => allInText(rate, allIn, settings)).join(" | ")} |`,
					"",
					"The bill above prices the first pass of `scenario` (no credential-less first attempt, no D1 delete, no",
					"archive, storage as the model holds it). The all-in row is the bench's steady state (BENCHMARKS.md,",
					"\"All-in steady state\": every cost of an event's life, the budget's row-by-row delete where it binds)",
					"priced at each rate with these settings, included amounts not subtracted.",
				]),
		END,
	].join("\n");
}

/** `document` with its generated section replaced (or appended when it has none yet). */
export function withSection(document: string, section: string): string {
	const start = document.indexOf(START);
	const end = document.indexOf(END);
	if (start < 0 || end < start) return `${document.trimEnd()}\n\n${section}\n`;
	return `${document.slice(0, start)}${section}${document.slice(end + END.length)}`;
}
