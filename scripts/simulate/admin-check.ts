import type { MessagePlan } from "./traffic-plan.ts";

/*
 * After the traffic: asks the relay's admin API about every message sent and compares it with the
 * plan. Events reach D1 a moment after the 2xx (the ledger's outbox drains on an alarm), so each
 * message is polled until it agrees or the deadline passes.
 */

export interface CheckOptions {
	baseUrl: string;
	adminToken: string;
	timeoutMs: number;
	concurrency?: number;
}

export interface CheckResult {
	ok: boolean;
	checked: number;
	matched: number;
	problems: string[];
}

interface MessageView {
	recipients?: { recipient: string; status: string; errorCode: number | null }[];
	events?: unknown[];
}

const POLL_INTERVAL_MS = 250;
const MAX_REPORTED = 10;

export function compareMessage(plan: MessagePlan, view: MessageView): string[] {
	const differences: string[] = [];
	const events = view.events?.length ?? 0;
	if (events !== plan.events) differences.push(`expected ${plan.events} events, the relay has ${events}`);
	const actual = new Map((view.recipients ?? []).map((row) => [row.recipient, row]));
	for (const [recipient, expected] of plan.recipients) {
		const row = actual.get(recipient);
		const want = [expected.status, expected.errorCode].filter((part) => part !== null).join(" ");
		if (row === undefined) differences.push(`${recipient}: expected ${want}, the relay has no status`);
		else if (row.status !== expected.status || (row.errorCode ?? null) !== expected.errorCode) {
			differences.push(
				`${recipient}: expected ${want}, the relay says ${[row.status, row.errorCode].filter((part) => part != null).join(" ")}`,
			);
		}
	}
	for (const recipient of actual.keys()) {
		if (!plan.recipients.has(recipient)) differences.push(`${recipient}: unexpected recipient`);
	}
	return differences;
}

async function getJson(url: string, token: string): Promise<{ status: number; body: unknown; text: string }> {
	const response = await fetch(url, {
		headers: { authorization: `Bearer ${token}` },
		signal: AbortSignal.timeout(10_000),
	});
	const text = await response.text();
	let body: unknown = null;
	try {
		body = JSON.parse(text);
	} catch {
		// Reported through `text`.
	}
	return { status: response.status, body, text };
}

/** Tells "no admin API here" apart from "message not stored yet", which both answer 404. */
async function probe(baseUrl: string, token: string): Promise<string | null> {
	const url = `${baseUrl}/v1/events?limit=1`;
	try {
		const { status, text } = await getJson(url, token);
		if (status === 200) return null;
		if (status === 404) {
			return `the admin API is not available (GET /v1/events answered 404): ADMIN_TOKEN is unset on the relay, or this build of the relay has no admin API yet. Run with --no-check to skip the check.`;
		}
		if (status === 401)
			return "the relay rejected the admin token (401): pass the relay's ADMIN_TOKEN (.dev.vars, env or --admin-token)";
		return `GET /v1/events answered ${status}: ${text.slice(0, 200)}`;
	} catch (error) {
		return `could not reach ${url}: ${(error as Error).message}`;
	}
}

async function checkOne(plan: MessagePlan, options: CheckOptions, deadline: number): Promise<string[]> {
	const url = `${options.baseUrl}/v1/messages/${encodeURIComponent(plan.messageId)}`;
	let last: string[] = [];
	for (;;) {
		try {
			const { status, body, text } = await getJson(url, options.adminToken);
			if (status === 200) last = compareMessage(plan, body as MessageView);
			else if (status === 404) last = ["not found (no events in D1)"];
			else last = [`GET answered ${status}: ${text.slice(0, 200)}`];
		} catch (error) {
			last = [`GET failed: ${(error as Error).message}`];
		}
		if (last.length === 0 || Date.now() >= deadline) return last;
		await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
	}
}

export async function checkAgainstAdmin(plans: readonly MessagePlan[], options: CheckOptions): Promise<CheckResult> {
	const unavailable = await probe(options.baseUrl, options.adminToken);
	if (unavailable !== null) return { ok: false, checked: 0, matched: 0, problems: [unavailable] };

	const deadline = Date.now() + options.timeoutMs;
	const problems: string[] = [];
	let matched = 0;
	let mismatched = 0;
	let next = 0;
	const worker = async () => {
		for (let plan = plans[next++]; plan !== undefined; plan = plans[next++]) {
			const differences = await checkOne(plan, options, deadline);
			if (differences.length === 0) matched++;
			else if (++mismatched <= MAX_REPORTED)
				problems.push(`msg ${plan.messageId} (${plan.scenario}): ${differences.join("; ")}`);
		}
	};
	await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, plans.length) }, worker));
	if (mismatched > MAX_REPORTED) problems.push(`… and ${mismatched - MAX_REPORTED} more messages`);
	return { ok: mismatched === 0, checked: plans.length, matched, problems };
}
