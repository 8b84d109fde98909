import { describeErrorCode } from "../../src/bandwidth/error-codes";

/*
 * Numbers on-call should not have to look up: an HTTP status with its reason phrase, a Bandwidth
 * error code with its name (Bandwidth's own table, the one the relay forwards with).
 */

const REASONS: Record<number, string> = {
	200: "OK",
	201: "Created",
	202: "Accepted",
	204: "No Content",
	301: "Moved Permanently",
	302: "Found",
	307: "Temporary Redirect",
	308: "Permanent Redirect",
	400: "Bad Request",
	401: "Unauthorized",
	403: "Forbidden",
	404: "Not Found",
	405: "Method Not Allowed",
	408: "Request Timeout",
	409: "Conflict",
	410: "Gone",
	413: "Content Too Large",
	415: "Unsupported Media Type",
	422: "Unprocessable Content",
	425: "Too Early",
	429: "Too Many Requests",
	500: "Internal Server Error",
	501: "Not Implemented",
	502: "Bad Gateway",
	503: "Service Unavailable",
	504: "Gateway Timeout",
};

/** "503 Service Unavailable"; "—" when there was no answer. */
export function httpText(status: number | null | undefined): string {
	if (status === null || status === undefined) return "—";
	const reason = REASONS[status];
	return reason === undefined ? String(status) : `${status} ${reason}`;
}

/** "4720 invalid-destination-address", or the bare code for one newer than the table. */
export function errorCodeText(code: number | string): string {
	const number = Number(code);
	if (!Number.isInteger(number)) return String(code);
	const name = describeErrorCode(number).name;
	return name === null ? String(number) : `${number} ${name}`;
}

/**
 * What the downstream answered, without the relay's "HTTP 503: " prefix (the status is shown on
 * its own): its body's start, or why there was no answer (a timeout, a network error).
 */
export function answerText(error: string | null): string {
	if (error === null) return "—";
	const answered = /^HTTP \d{3}: ?([\s\S]*)$/.exec(error);
	if (answered === null) return error;
	const body = answered[1] ?? "";
	return body.trim() === "" ? "(empty answer)" : body;
}

/** A duration for people: "12 ms", "3.4 s". */
export function durationText(ms: number | null): string {
	if (ms === null) return "—";
	return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
