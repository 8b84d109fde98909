import { modeOf } from "../sink/simulated-failures.ts";
import type { MessagePlan } from "./traffic-plan.ts";

/** What `--failures` asked of the sink, and where to watch it happen. */
export function failureLines(plans: readonly MessagePlan[], baseUrl: string): string[] {
	const events = new Map<string, number>();
	for (const plan of plans) {
		const mode = modeOf(plan.callbacks[0]?.element.message.tag);
		if (mode !== null) events.set(mode, (events.get(mode) ?? 0) + plan.events);
	}
	const count = (mode: string) => events.get(mode) ?? 0;
	return [
		"",
		"failures asked of the local sink (--failures):",
		`  ${count("503")} events answered 503 once, ${count("timeout")} timed out once: each retried 5 s later and delivered`,
		`  ${count("410")} events answered 410 Gone: dead; replay them from the console's Dead letters`,
		`  ${count("outage")} events sent last start a 45 s outage: the breaker opens (an alert), probes after 30 s and 1 min, closes, and what it held is delivered`,
		`watch it at ${baseUrl}/console/ (Destinations, Dead letters), and the alerts in npm start's sink lines (⚑)`,
	];
}
