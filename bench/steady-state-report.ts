import type { SteadyStateResult } from "./steady-state.ts";

/** Placeholder until the first run shows what to print. */
export function steadyStateMarkdown(result: SteadyStateResult): string[] {
	return [
		JSON.stringify(
			{
				relay: result.relay.atRate.byItem,
				relayTotal: result.relay.atRate.usdPerMillionEvents,
				floor: result.floor.atRate.byItem,
				floorTotal: result.floor.atRate.usdPerMillionEvents,
				ratio: result.ratio,
				checks: result.checks,
				lifecycle: result.relay.lifecycle,
				floorLifecycle: result.floor.lifecycle,
				byRate: result.relay.byRate.map((r) => [r.rate, r.usdPerMillionEvents, r.budgetBinds, r.d1HoldDays]),
			},
			null,
			1,
		),
	];
}
