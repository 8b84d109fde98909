/** Answers that will not change on a retry: the event goes to the dead list at once. */
const PERMANENT = new Set([400, 401, 403, 404, 405, 410, 413, 422]);

export type ResponseClass = "delivered" | "permanent" | "retryable";

/**
 * 2xx delivered; the listed 4xx permanent; everything else (408, 409, 425, 429, 5xx, and any
 * status nobody planned for, redirects included) is retried on the schedule.
 */
export function classifyStatus(status: number): ResponseClass {
	if (status >= 200 && status < 300) return "delivered";
	if (PERMANENT.has(status)) return "permanent";
	return "retryable";
}
