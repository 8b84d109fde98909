import { ROUTE_HEADER } from "./processes.ts";

/*
 * The cron at a time of the bench's choosing. wrangler dev starts Miniflare with its trigger
 * handlers on, so the runtime's entry socket answers `/cdn-cgi/local/scheduled?time=<epoch ms>`
 * by running the Worker's own `scheduled` export with that `scheduledTime` (the Worker named by
 * MF-Route-Override). The relay's maintenance takes its `now` from it (src/index.ts →
 * runMaintenance), so the bench can run the days of retention, forgetting and archiving in
 * seconds; every unit it spends reaches the Worker's meter as a real cron's would. Nothing in src
 * knows the bench.
 */

export const EVERY_MINUTE = "* * * * *";

export async function runCron(entryUrl: string, worker: string, time: number, cron = EVERY_MINUTE): Promise<void> {
	const query = new URLSearchParams({ time: String(Math.round(time)), cron, format: "json" });
	const response = await fetch(`${entryUrl}/cdn-cgi/local/scheduled?${query}`, {
		headers: { [ROUTE_HEADER]: worker },
		signal: AbortSignal.timeout(120_000),
	});
	const body = await response.text();
	if (!response.ok)
		throw new Error(`${worker}'s cron at ${new Date(time).toISOString()} answered ${response.status}: ${body}`);
}
