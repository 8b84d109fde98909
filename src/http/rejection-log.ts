import { log } from "../log";
import type { HttpError } from "./errors";
import { loggedPath } from "./logged-path";
import { RejectionCounter } from "./rejection-counter";

/*
 * The one log line of each rejection (DESIGN: every rejection is logged). What anyone can cause
 * without a credential — no or a wrong token (401), a refused link (403), an unknown path (404), a
 * wrong method (405), too many wrong tokens (429) — is counted per status instead, as the
 * callback's own refusals are (rejection-counter.ts): a line a minute per status at most, carrying
 * the latest such request's code and bounded path as a sample. An authenticated caller's
 * rejections, and every 5xx, keep a line each; their path is bounded too.
 */

const ANONYMOUS_STATUSES: ReadonlySet<number> = new Set([401, 403, 404, 405, 429]);
const counters = new Map<number, RejectionCounter>();

function counterFor(status: number): RejectionCounter {
	let counter = counters.get(status);
	if (counter === undefined) {
		counter = new RejectionCounter("request_rejected_total");
		counters.set(status, counter);
	}
	return counter;
}

export function logRejection(error: HttpError, path: string, authenticated: boolean): void {
	const fields = { code: error.code, ...loggedPath(path) };
	if (error.status >= 500) log.error("request_failed", { ...fields, message: error.message });
	else if (!authenticated && ANONYMOUS_STATUSES.has(error.status))
		counterFor(error.status).count({ status: error.status, ...fields });
	else log.warn("request_rejected", { ...fields, message: error.message });
}
