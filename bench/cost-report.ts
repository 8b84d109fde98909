import type { MeterUnit } from "../src/meter/meter.ts";
import type { CostSummary } from "./cost.ts";
import { PRICES, PRICES_READ_ON } from "./prices.ts";
import type { ScenarioSummary } from "./summarize.ts";

/** The results block's cost tables: $ per million events, relay beside the job floor. */

const fixed = (value: number, digits: number) =>
	value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Units per event: whole where they are, else two decimals. */
const perEvent = (value: number) => fixed(value, Number.isInteger(value) ? 0 : 2);

/** The pieces shown per scenario; the rest is in results.json. */
const COLUMNS: ReadonlyArray<[MeterUnit, string]> = [
	["workerRequests", "Worker req"],
	["doRequests", "DO req"],
	["doRowsWritten", "DO rows written"],
	["d1RowsWritten", "D1 rows written"],
	["d1BytesStored", "D1 bytes"],
	["queueOps", "queue ops"],
	["logLines", "log events"],
	["r2ClassA", "R2 A"],
	["aeDataPoints", "AE points"],
];

function row(label: string, cost: CostSummary): string {
	const cells = COLUMNS.map(([unit]) => perEvent(cost.perEvent[unit]));
	return `| ${label} | ${fixed(cost.usdPerMillionEvents, 2)} | ${cells.join(" | ")} |`;
}

function scenarioRows(summary: ScenarioSummary): string[] {
	const { relay, floor } = summary.workers;
	if (relay.cost === null || floor.cost === null) return [];
	const ratio = relay.cost.usdPerMillionEvents / floor.cost.usdPerMillionEvents;
	return [
		row(`${summary.id}: **relay**`, relay.cost),
		row(`${summary.id}: job floor`, floor.cost),
		`| *${summary.id}: relay ÷ floor* | ${fixed(ratio, 2)}× |${" |".repeat(COLUMNS.length)}`,
	];
}

function breakdown(summary: ScenarioSummary | undefined): string[] {
	const relay = summary?.workers.relay.cost;
	const floor = summary?.workers.floor.cost;
	if (summary === undefined || relay == null || floor == null) return [];
	const units = (Object.keys(PRICES) as MeterUnit[]).filter((unit) => PRICES[unit] !== null);
	return [
		"",
		`Where the money goes, ${summary.id} ($ per million events):`,
		"",
		"| unit | relay per event | relay $/M | floor per event | floor $/M |",
		"|---|--:|--:|--:|--:|",
		...units.map(
			(unit) =>
				`| ${unit} | ${perEvent(relay.perEvent[unit])} | ${fixed(relay.usdPerMillionEventsByUnit[unit] ?? 0, 3)} | ` +
				`${perEvent(floor.perEvent[unit])} | ${fixed(floor.usdPerMillionEventsByUnit[unit] ?? 0, 3)} |`,
		),
		`| **total** | | **${fixed(relay.usdPerMillionEvents, 2)}** | | **${fixed(floor.usdPerMillionEvents, 2)}** |`,
	];
}

export function costSection(summaries: readonly ScenarioSummary[]): string[] {
	const rows = summaries.flatMap(scenarioRows);
	if (rows.length === 0) return [];
	return [
		"### Cost per event (cost meter, list prices)",
		"",
		"Billable units per event sent (in-flight requests at the end of a timed round included: the Worker " +
			"processes them), counted from the start of each round until it drained; " +
			`$ per million events at the list prices in docs/prices.md (read ${PRICES_READ_ON}), included amounts ` +
			"not subtracted, D1 bytes held 30 days. How to read it: BENCHMARKS.md, Cost meter.",
		"",
		`| scenario: worker | $/M events | ${COLUMNS.map(([, label]) => label).join(" | ")} |`,
		`|---|--:|${"--:|".repeat(COLUMNS.length)}`,
		...rows,
		...breakdown(summaries.find((summary) => summary.id === "saturating")),
		"",
	];
}
