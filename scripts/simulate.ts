/*
 * `npm run simulate`: realistic Bandwidth messaging traffic against a local relay — inbound SMS and
 * group MMS (one message id per owned number), outbound lifecycles (sending → sent → delivered, or
 * failed with real error codes, per recipient for group MMS), duplicates, receipts that overtake
 * their own `message-sending`, and the unauthenticated first attempt that must draw the 401
 * challenge — then a check through the admin API that the relay kept exactly that, and the
 * deliverability insights of the run (delivery rate, error codes with what to do, latency).
 * `npm run simulate -- --help` lists the options.
 */
import { checkAgainstAdmin } from "./simulate/admin-check.ts";
import { destinationLines } from "./simulate/destinations-report.ts";
import { failureLines } from "./simulate/failure-report.ts";
import { insightsLines } from "./simulate/insights-report.ts";
import { parseOptions, type SimulateOptions, USAGE, UsageError } from "./simulate/options.ts";
import { progressReporter } from "./simulate/progress.ts";
import { sendTraffic } from "./simulate/send-traffic.ts";
import { summarize, summaryLines } from "./simulate/summary.ts";
import { planTraffic } from "./simulate/traffic-plan.ts";

async function relayAnswers(baseUrl: string): Promise<boolean> {
	try {
		const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(5000) });
		await response.body?.cancel();
		return true;
	} catch {
		return false;
	}
}

export async function simulate(options: SimulateOptions): Promise<number> {
	// With --json, stdout carries only the JSON summary.
	const say = (line: string) => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
	if (options.username === undefined || options.password === undefined) {
		say(
			"simulate: no Basic credentials; set BANDWIDTH_USERNAME and BANDWIDTH_PASSWORD (.dev.vars or env) or pass --username/--password",
		);
		return 2;
	}
	const callbackUrl = `${options.baseUrl}/bandwidth/messaging`;
	if (!(await relayAnswers(options.baseUrl))) {
		say(`simulate: nothing answers at ${options.baseUrl}; start the relay with npm start (or pass --url)`);
		return 1;
	}

	const plans = planTraffic({ ...options, now: Date.now() });
	const total = plans.reduce(
		(sum, plan) => sum + plan.callbacks.reduce((posts, c) => posts + (c.challenge ? 2 : 1), 0),
		0,
	);
	say(`simulate  seed ${options.seed} · ${plans.length} messages · ${total} posts → ${callbackUrl}`);

	const progress = progressReporter(total);
	const stats = await sendTraffic(plans, {
		callbackUrl,
		authorization: `Basic ${Buffer.from(`${options.username}:${options.password}`).toString("base64")}`,
		rate: options.rate,
		concurrency: options.concurrency,
		onProgress: (current) => progress.update(current),
	});
	progress.done(stats);

	let check = null;
	if (options.check) {
		if (options.adminToken === undefined) {
			check = {
				ok: false,
				checked: 0,
				matched: 0,
				problems: ["no ADMIN_TOKEN to check with (.dev.vars, env or --admin-token); or pass --no-check"],
			};
		} else {
			say(
				`checking ${plans.length} messages through ${options.baseUrl}/v1/messages/… (up to ${options.checkTimeoutMs / 1000} s)`,
			);
			check = await checkAgainstAdmin(plans, {
				baseUrl: options.baseUrl,
				adminToken: options.adminToken,
				timeoutMs: options.checkTimeoutMs,
			});
		}
	}

	const summary = summarize({ seed: options.seed, url: callbackUrl }, plans, stats, check);
	for (const line of summaryLines(summary)) say(line);
	if (options.adminToken !== undefined) {
		for (const line of await destinationLines(options.baseUrl, options.adminToken)) say(line);
		const applicationId = String(plans[0]?.callbacks[0]?.element.message.applicationId ?? "");
		if (applicationId !== "") {
			for (const line of await insightsLines(options.baseUrl, options.adminToken, applicationId)) say(line);
		}
	}
	if (options.failures) for (const line of failureLines(plans, options.baseUrl)) say(line);
	if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
	return summary.ok ? 0 : 1;
}

async function main(): Promise<number> {
	try {
		const options = parseOptions(process.argv.slice(2));
		if (options === "help") {
			process.stdout.write(USAGE);
			return 0;
		}
		return await simulate(options);
	} catch (error) {
		if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
			process.stderr.write(`simulate: ${(error as Error).message}\n\n${USAGE}`);
			return 2;
		}
		throw error;
	}
}

if (import.meta.main) process.exit(await main());
