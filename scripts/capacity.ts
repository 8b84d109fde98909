import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { AllInInput } from "../bench/all-in.ts";
import { DEFAULT_SETTINGS, type PerEvent, type Settings } from "./lib/capacity-model.ts";
import { markdownReport, type Source, textReport, withSection } from "./lib/capacity-report.ts";

/*
 * `npm run capacity -- --rate 1000`: each production limit the relay touches, as its measured
 * per-event use times the rate, and the monthly bill. The per-event figures are read from the
 * bench's results (bench/results.json by default), never typed here.
 *
 *   --rate N          events/s (repeat, or a comma list; --markdown defaults to 10,100,1000,10000)
 *   --results FILE    the bench results to read (bench/out/results.quick.json after bench:quick)
 *   --scenario ID     which scenario's relay figures (default saturating: 1-event callbacks)
 *   --buckets N --dedupe-days N --retention-days N --d1-budget-mb N --post-ms N   settings
 *   --markdown        the section docs/capacity.md embeds; --write FILE replaces it there
 */

type Results = {
	environment?: { date?: string };
	command?: string;
	scenarios?: Array<{ id: string; workers?: { relay?: { cost?: { perEvent?: PerEvent } | null } } }>;
	/** The all-in steady state (bench/steady-state.ts), in results that have it. */
	steadyState?: { relay?: AllInInput };
};

const { values } = parseArgs({
	options: {
		rate: { type: "string", multiple: true },
		results: { type: "string", default: "bench/results.json" },
		scenario: { type: "string", default: "saturating" },
		buckets: { type: "string" },
		"dedupe-days": { type: "string" },
		"retention-days": { type: "string" },
		"d1-budget-mb": { type: "string" },
		"post-ms": { type: "string" },
		markdown: { type: "boolean", default: false },
		write: { type: "string" },
	},
});

function positive(name: string, value: string | undefined, fallback: number): number {
	if (value === undefined) return fallback;
	const number = Number(value);
	if (!Number.isFinite(number) || number <= 0) throw new Error(`--${name} must be a positive number, not ${value}`);
	return number;
}

const rates = (values.rate ?? []).flatMap((item) => item.split(",")).map((item) => positive("rate", item, 0));
if (rates.length === 0 && !values.markdown) {
	console.error(
		"usage: npm run capacity -- --rate <events/s> [--results bench/results.json] [--markdown [--write docs/capacity.md]]",
	);
	process.exit(2);
}

const settings: Settings = {
	buckets: positive("buckets", values.buckets, DEFAULT_SETTINGS.buckets),
	dedupeDays: positive("dedupe-days", values["dedupe-days"], DEFAULT_SETTINGS.dedupeDays),
	retentionDays: positive("retention-days", values["retention-days"], DEFAULT_SETTINGS.retentionDays),
	d1BudgetBytes: positive("d1-budget-mb", values["d1-budget-mb"], DEFAULT_SETTINGS.d1BudgetBytes / 1e6) * 1e6,
	postSeconds: positive("post-ms", values["post-ms"], DEFAULT_SETTINGS.postSeconds * 1000) / 1000,
};

const results = JSON.parse(readFileSync(values.results, "utf8")) as Results;
const scenario = results.scenarios?.find((item) => item.id === values.scenario);
const perEvent = scenario?.workers?.relay?.cost?.perEvent;
if (perEvent === undefined)
	throw new Error(`${values.results} has no metered relay figures for scenario ${values.scenario}`);
const source: Source = {
	file: values.results,
	generated: results.environment?.date ?? null,
	command: results.command ?? null,
	scenario: values.scenario,
};

const steady = results.steadyState?.relay;
// Only what allInAt reads, so a results file's other fields (atRate, byRate) cannot stand in for it.
const allIn: AllInInput | null =
	steady === undefined
		? null
		: {
				firstPass: steady.firstPass,
				ledgerBytesPerEvent: steady.ledgerBytesPerEvent,
				lifecycle: steady.lifecycle,
				cronPerMonth: steady.cronPerMonth,
			};

if (values.markdown) {
	const section = markdownReport(rates.length > 0 ? rates : [10, 100, 1000, 10_000], perEvent, settings, source, allIn);
	if (values.write === undefined) console.log(section);
	else writeFileSync(values.write, withSection(readFileSync(values.write, "utf8"), section));
} else {
	for (const rate of rates) console.log(`${textReport(rate, perEvent, settings, source, allIn)}\n`);
}
