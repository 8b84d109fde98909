import type { AlertType } from "./alert-types";

/** One alert as it is sent: a CloudEvent, signed like a forward (README "Alerts"). */
export interface AlertEvent {
	specversion: "1.0";
	id: string;
	source: "bandwidth-relay";
	type: AlertType;
	subject: string;
	time: string;
	datacontenttype: "application/json";
	data: Record<string, unknown> & { count: number; sampleIds: string[]; since: string };
}

const SUMMARIES: Record<AlertType, (event: AlertEvent) => string> = {
	"relay.event.dead": (event) =>
		`${event.data.count} event(s) went dead for destination ${event.subject} since ${event.data.since}; replay them with POST /v1/replay {"dead":true}`,
	"relay.storage.near_budget": (event) =>
		`D1 is at ${Math.round(Number(event.data.ratio) * 100)} % of D1_BUDGET_MB; the oldest events are evicted past it`,
	"relay.outbox.stalled": (event) =>
		`${event.data.rows} copy(ies) in ${event.data.ledgers} ledger(s) have waited since ${event.data.oldest}: D1 or the queue refuses them`,
	"relay.archive.failing": (event) =>
		`${event.data.ledgers} ledger(s) could not write to the R2 archive (${event.data.error ?? "unknown"}); the hours from ${event.data.oldestHourWaiting ?? "?"} wait in the ledgers and in D1, and are written when R2 answers`,
	"relay.destination.failing": (event) =>
		`destination ${event.subject} keeps failing (last: ${event.data.lastError ?? "unknown"}); its breaker opens if it goes on`,
	"relay.destination.paused": (event) =>
		event.data.cause === "operator"
			? `destination ${event.subject} was paused by an operator; its events wait until POST /v1/destinations/${event.subject}/resume`
			: `destination ${event.subject}'s breaker opened (last: ${event.data.lastError ?? "unknown"}); its events wait and a probe goes out on a backoff`,
	"relay.destination.recovered": (event) =>
		`destination ${event.subject} is delivering again${event.data.cause === "operator" ? " (resumed by an operator)" : ""}; its backlog drains at its rate limit`,
	"relay.deliverability.degraded": (event) =>
		`${String(event.data.scope)} ${event.subject.replace(/^\w+:/, "")}: ${deliverability(event)}; top error codes: ${topCodes(event)}`,
	"relay.deliverability.recovered": (event) =>
		`${String(event.data.scope)} ${event.subject.replace(/^\w+:/, "")} is delivering again: ${deliverability(event)}`,
};

function deliverability(event: AlertEvent): string {
	const rate = typeof event.data.deliveryRate === "number" ? `${(event.data.deliveryRate * 100).toFixed(1)} %` : "—";
	return `${rate} of ${String(event.data.receipts)} receipt(s) delivered in the last ${String(event.data.windowMinutes)} minutes`;
}

function topCodes(event: AlertEvent): string {
	const codes = Array.isArray(event.data.topErrorCodes)
		? (event.data.topErrorCodes as Array<Record<string, unknown>>)
		: [];
	if (codes.length === 0) return "none";
	return codes
		.map((code) => `${String(code.code)} ${String(code.name ?? "")} ×${String(code.count)}`.trim())
		.join(", ");
}

/** The text a chat channel shows (ALERT_FORMAT=slack: Slack and Teams incoming webhooks take `{"text"}`). */
export function alertText(event: AlertEvent): string {
	return `[bandwidth-relay] ${event.type}: ${SUMMARIES[event.type](event)}`;
}
