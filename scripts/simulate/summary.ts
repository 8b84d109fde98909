import type { CheckResult } from "./admin-check.ts";
import type { SendStats } from "./send-traffic.ts";
import type { MessagePlan } from "./traffic-plan.ts";

/** What a run did and whether the relay agreed; printed as text, or as JSON with --json. */
export interface Summary {
	ok: boolean;
	seed: number;
	url: string;
	messages: number;
	/** Authenticated callbacks; `duplicatesSent` of them were exact resends. */
	callbacks: number;
	events: number;
	duplicatesSent: number;
	challenges: number;
	challengesAnswered: number;
	status: SendStats["byStatus"];
	latencyMs: { p50: number; p99: number };
	ingest: SendStats["ingest"];
	ingestMatches: boolean;
	check: { status: "ok" | "failed" | "skipped"; checked: number; matched: number; problems: string[] };
	problems: string[];
	messageIds: string[];
}

export function percentile(values: readonly number[], quantile: number): number {
	if (values.length === 0) return 0;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.max(0, Math.ceil(quantile * sorted.length) - 1)] ?? 0;
}

export function summarize(
	run: { seed: number; url: string },
	plans: readonly MessagePlan[],
	stats: SendStats,
	check: CheckResult | null,
): Summary {
	const events = plans.reduce((sum, plan) => sum + plan.events, 0);
	const duplicatesSent = plans.reduce(
		(sum, plan) => sum + plan.callbacks.filter((callback) => callback.duplicate).length,
		0,
	);
	// The relay's own tally must match the plan exactly: every event stored once, every resend seen as one.
	const ingestMatches =
		stats.ingest.stored === events &&
		stats.ingest.duplicates === duplicatesSent &&
		stats.ingest.quarantined === 0 &&
		stats.ingest.received === stats.callbacks;
	const sendOk = stats.problems.length === 0 && stats.byStatus["2xx"] === stats.callbacks;
	return {
		ok: sendOk && ingestMatches && (check === null || check.ok),
		seed: run.seed,
		url: run.url,
		messages: plans.length,
		callbacks: stats.callbacks,
		events,
		duplicatesSent,
		challenges: stats.challenges,
		challengesAnswered: stats.challengesAnswered,
		status: stats.byStatus,
		latencyMs: { p50: round(percentile(stats.latenciesMs, 0.5)), p99: round(percentile(stats.latenciesMs, 0.99)) },
		ingest: stats.ingest,
		ingestMatches,
		check:
			check === null
				? { status: "skipped", checked: 0, matched: 0, problems: [] }
				: {
						status: check.ok ? "ok" : "failed",
						checked: check.checked,
						matched: check.matched,
						problems: check.problems,
					},
		problems: stats.problems,
		messageIds: plans.map((plan) => plan.messageId),
	};
}

const round = (value: number) => Math.round(value * 10) / 10;
const mark = (ok: boolean) => (ok ? "✓" : "✗");

export function summaryLines(summary: Summary): string[] {
	const { status, ingest, check } = summary;
	const lines = [
		`sent      ${summary.callbacks} callbacks (${summary.events} events + ${summary.duplicatesSent} duplicates) for ${summary.messages} messages, after ${summary.challenges} unauthenticated first attempts`,
		`answers   2xx ${status["2xx"]} · 401 ${status["401"]} (${summary.challengesAnswered}/${summary.challenges} with the Basic challenge) · other ${status.other}`,
		`latency   p50 ${summary.latencyMs.p50} ms · p99 ${summary.latencyMs.p99} ms`,
		`relay     received ${ingest.received} · stored ${ingest.stored} · duplicates ${ingest.duplicates} · quarantined ${ingest.quarantined}  ${mark(summary.ingestMatches)}${summary.ingestMatches ? " as sent" : ` expected stored ${summary.events}, duplicates ${summary.duplicatesSent}, quarantined 0`}`,
		check.status === "skipped"
			? "admin     check skipped (--no-check)"
			: `admin     ${check.matched}/${summary.messages} messages agree with what was sent  ${mark(check.status === "ok")}`,
	];
	for (const problem of [...summary.problems, ...check.problems]) lines.push(`  ✗ ${problem}`);
	lines.push(
		summary.ok ? "✓ the relay agrees with everything sent" : `✗ mismatch (reproduce with --seed ${summary.seed})`,
	);
	return lines;
}
