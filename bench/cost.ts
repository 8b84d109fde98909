import { METER_UNITS, type MeterCounts, type MeterUnit } from "../src/meter/meter.ts";
import { PRICES, usdPerUnit } from "./prices.ts";

/** A worker's meter over a scenario's rounds → units per event and dollars per million events. */

export interface CostSummary {
	/** Events sent to the worker over the rounds measured: the denominator, the same load for both workers. */
	events: number;
	perEvent: MeterCounts;
	usdPerMillionEvents: number;
	/** The same total, unit by unit (units that cost nothing are left out). */
	usdPerMillionEventsByUnit: Partial<Record<MeterUnit, number>>;
}

export interface MeteredRun {
	eventsSent: number;
	meter: MeterCounts | null;
}

export function costOf(runs: readonly MeteredRun[]): CostSummary | null {
	const metered = runs.filter((run): run is MeteredRun & { meter: MeterCounts } => run.meter !== null);
	const events = metered.reduce((sum, run) => sum + run.eventsSent, 0);
	if (metered.length === 0 || events === 0) return null;
	const perEvent = Object.fromEntries(
		METER_UNITS.map((unit) => [unit, metered.reduce((sum, run) => sum + run.meter[unit], 0) / events]),
	) as MeterCounts;
	const byUnit: Partial<Record<MeterUnit, number>> = {};
	for (const unit of METER_UNITS) {
		const price = PRICES[unit];
		const usd = price === null ? 0 : perEvent[unit] * usdPerUnit(price) * 1e6;
		if (usd !== 0) byUnit[unit] = usd;
	}
	const total = Object.values(byUnit).reduce((sum, usd) => sum + usd, 0);
	return { events, perEvent, usdPerMillionEvents: total, usdPerMillionEventsByUnit: byUnit };
}
