import { raiseAlert } from "../alerts/raise-alert";
import { describeErrorCode } from "../bandwidth/error-codes";
import { type DeliverabilityConfig, readDeliverabilityConfig } from "../config";
import { errorMessage, log } from "../log";
import { MINUTE_MS } from "./record-insights";
import { remediationOf } from "./remediation";

/*
 * relay.deliverability.degraded / .recovered (README "Alerts"): once a minute, after the counts are
 * in, each application's and each number's receipts of the last 15 minutes (by the minute they
 * were counted, about a minute after Bandwidth sent them) are judged. Degraded: at least
 * DELIVERABILITY_ALERT_MIN receipts, and a delivery rate below DELIVERABILITY_ALERT_RATE or one
 * error code over DELIVERABILITY_ALERT_ERROR_SHARE of them. Healthy: as many receipts, neither.
 * Fewer receipts say nothing either way. An incident is a row of insight_incidents, opened and
 * closed by one statement each, so an alert is raised once per incident even if two cron runs
 * overlap; the alert desk sends it.
 */

export const ALERT_WINDOW_MINUTES = 15;
const TOP_CODES = 3;

type Scope = "application" | "number";

export interface WindowReceipts {
	scope: Scope;
	/** The application id or the number. */
	id: string;
	delivered: number;
	failed: number;
	/** Error code → failures. */
	errors: Map<number, number>;
}

export type Verdict = { state: "degraded" | "healthy"; reasons: string[] } | { state: "unknown" };

/** The judgement on one application's or number's window. */
export function judge(window: WindowReceipts, config: DeliverabilityConfig): Verdict {
	const receipts = window.delivered + window.failed;
	if (receipts < config.minReceipts) return { state: "unknown" };
	const reasons: string[] = [];
	if (window.delivered / receipts < config.rate) reasons.push("delivery_rate");
	if ([...window.errors.values()].some((count) => count / receipts > config.errorShare)) reasons.push("error_code");
	return { state: reasons.length > 0 ? "degraded" : "healthy", reasons };
}

const subjectOf = (window: Pick<WindowReceipts, "scope" | "id">) => `${window.scope}:${window.id}`;

/** Sums the window's rows per application and per number (an application's numbers, a number's applications). */
export function windowsOf(
	receipts: ReadonlyArray<{ application_id: string; owner: string; delivered: number; failed: number }>,
	errors: ReadonlyArray<{ application_id: string; owner: string; code: number; count: number }>,
): WindowReceipts[] {
	const windows = new Map<string, WindowReceipts>();
	const windowFor = (scope: Scope, id: string) => {
		const subject = subjectOf({ scope, id });
		let window = windows.get(subject);
		if (window === undefined) {
			window = { scope, id, delivered: 0, failed: 0, errors: new Map() };
			windows.set(subject, window);
		}
		return window;
	};
	const scopes = (row: { application_id: string; owner: string }) =>
		[
			["application", row.application_id],
			["number", row.owner],
		].filter(([, id]) => id !== "") as Array<[Scope, string]>;
	for (const row of receipts) {
		for (const [scope, id] of scopes(row)) {
			const window = windowFor(scope, id);
			window.delivered += row.delivered;
			window.failed += row.failed;
		}
	}
	for (const row of errors) {
		for (const [scope, id] of scopes(row)) {
			const window = windowFor(scope, id);
			window.errors.set(row.code, (window.errors.get(row.code) ?? 0) + row.count);
		}
	}
	return [...windows.values()];
}

function alertData(window: WindowReceipts, windowStart: number, now: number, reasons: string[] = []) {
	const receipts = window.delivered + window.failed;
	const topErrorCodes = [...window.errors]
		.sort(([codeA, a], [codeB, b]) => b - a || codeA - codeB)
		.slice(0, TOP_CODES)
		.map(([code, count]) => {
			const described = describeErrorCode(code);
			return {
				code,
				name: code === 0 ? null : described.name,
				count,
				share: count / receipts,
				remediation: remediationOf(code),
			};
		});
	return {
		scope: window.scope,
		...(window.scope === "application" ? { applicationId: window.id } : { number: window.id }),
		deliveryRate: receipts === 0 ? null : window.delivered / receipts,
		delivered: window.delivered,
		failed: window.failed,
		receipts,
		windowMinutes: ALERT_WINDOW_MINUTES,
		windowStart: new Date(windowStart).toISOString(),
		windowEnd: new Date(now).toISOString(),
		...(reasons.length > 0 ? { reasons } : {}),
		topErrorCodes,
	};
}

/** Judges every application and number on the last 15 minutes' receipts, and opens or closes their incidents. */
export async function alertDeliverability(
	env: Pick<
		Env,
		| "DB"
		| "ALERT_URL"
		| "ALERT_DESK"
		| "DELIVERABILITY_ALERT_RATE"
		| "DELIVERABILITY_ALERT_MIN"
		| "DELIVERABILITY_ALERT_ERROR_SHARE"
	>,
	now: number,
): Promise<void> {
	const config = readDeliverabilityConfig(env);
	if (!config.ok) {
		log.error("config_invalid", { message: config.message });
		return;
	}
	const minute = Math.floor(now / MINUTE_MS);
	const after = minute - ALERT_WINDOW_MINUTES;
	try {
		const [receipts, errors, incidents] = await env.DB.batch([
			env.DB.prepare(
				`SELECT application_id, owner, sum(delivered) AS delivered, sum(failed) AS failed FROM insight_minutes
				 WHERE minute > ?1 AND minute <= ?2 GROUP BY application_id, owner`,
			).bind(after, minute),
			env.DB.prepare(
				`SELECT application_id, owner, code, sum(count) AS count FROM insight_minute_errors
				 WHERE minute > ?1 AND minute <= ?2 GROUP BY application_id, owner, code`,
			).bind(after, minute),
			env.DB.prepare("SELECT subject, opened_at FROM insight_incidents"),
		]);
		const open = new Map(
			((incidents?.results ?? []) as Array<{ subject: string; opened_at: string }>).map((row) => [
				row.subject,
				row.opened_at,
			]),
		);
		const windows = windowsOf(
			(receipts?.results ?? []) as Array<{ application_id: string; owner: string; delivered: number; failed: number }>,
			(errors?.results ?? []) as Array<{ application_id: string; owner: string; code: number; count: number }>,
		);
		const windowStart = (after + 1) * MINUTE_MS;
		const changes: Array<{ type: "degraded" | "recovered"; window: WindowReceipts; data: Record<string, unknown> }> =
			[];
		for (const window of windows) {
			const verdict = judge(window, config.value);
			const subject = subjectOf(window);
			if (verdict.state === "degraded" && !open.has(subject)) {
				changes.push({ type: "degraded", window, data: alertData(window, windowStart, now, verdict.reasons) });
			} else if (verdict.state === "healthy" && open.has(subject)) {
				const data = { ...alertData(window, windowStart, now), degradedSince: open.get(subject) };
				changes.push({ type: "recovered", window, data });
			}
		}
		if (changes.length === 0) return;
		const opened = new Date(now).toISOString();
		const results = await env.DB.batch(
			changes.map((change) =>
				change.type === "degraded"
					? env.DB.prepare(
							"INSERT INTO insight_incidents (subject, opened_at, data) VALUES (?1, ?2, ?3) ON CONFLICT (subject) DO NOTHING",
						).bind(subjectOf(change.window), opened, JSON.stringify(change.data))
					: env.DB.prepare("DELETE FROM insight_incidents WHERE subject = ?1").bind(subjectOf(change.window)),
			),
		);
		for (const [index, change] of changes.entries()) {
			// Another run that got there first raised it.
			if ((results[index]?.meta.changes ?? 0) !== 1) continue;
			const subject = subjectOf(change.window);
			log.warn(`deliverability_${change.type}`, { subject, ...change.data });
			await raiseAlert(env, { type: `relay.deliverability.${change.type}`, key: subject, count: 1, data: change.data });
		}
	} catch (error) {
		log.error("deliverability_alerts_failed", { error: errorMessage(error) });
	}
}
