/*
 * `wrangler dev` never runs the Worker's cron trigger (wrangler.toml `crons`): started with
 * `--test-scheduled`, it runs it on GET /__scheduled. This stands in for Cloudflare's cron locally,
 * so that the ledgers' maintenance, the archive, retention, the insight counts and their alerts
 * happen under `npm start` as they do deployed.
 */

const CRON = "* * * * *";

/** Runs the relay's scheduled handler once; false when the relay does not serve /__scheduled. */
export async function runCronOnce(relayUrl: string): Promise<boolean> {
	try {
		const response = await fetch(`${relayUrl}/__scheduled?cron=${encodeURIComponent(CRON)}`, {
			signal: AbortSignal.timeout(60_000),
		});
		await response.body?.cancel();
		return response.ok;
	} catch {
		return false;
	}
}

/** Runs it every minute until stopped, one run at a time. */
export function startLocalCron(relayUrl: string, everyMs = 60_000): { stop(): void } {
	let running = false;
	const timer = setInterval(() => {
		if (running) return;
		running = true;
		void runCronOnce(relayUrl).finally(() => {
			running = false;
		});
	}, everyMs);
	return { stop: () => clearInterval(timer) };
}
