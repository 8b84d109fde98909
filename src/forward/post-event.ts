import { readTextExcerpt } from "../http/read-body";
import { errorMessage } from "../log";
import { classifyStatus, type ResponseClass } from "./classify-response";
import { parseRetryAfter } from "./retry-schedule";
import type { WebhookRequest } from "./webhook-request";

export interface PostResult {
	class: ResponseClass;
	httpStatus: number | null;
	error: string | null;
	retryAfterSeconds: number | null;
	durationMs: number;
}

const ERROR_SNIPPET_CHARS = 300;

export interface PostTarget {
	url: string;
	timeoutMs: number;
}

/**
 * Sends one signed request and classifies the answer. The timeout starts here, at the request's
 * own start: the caller holds a connection slot (src/forward/forward-batch.ts), so the runtime
 * never keeps this fetch waiting behind others while its timer runs.
 */
export async function postEvent(target: PostTarget, request: WebhookRequest): Promise<PostResult> {
	const started = Date.now();
	try {
		const response = await fetch(target.url, {
			method: "POST",
			headers: request.headers,
			body: request.body,
			// A redirected POST can turn into a GET elsewhere; a moved endpoint is a retryable failure.
			redirect: "manual",
			signal: AbortSignal.timeout(target.timeoutMs),
		});
		const responseClass = classifyStatus(response.status);
		// Only what is kept is read: a destination's error page may be megabytes, or never end.
		const text = responseClass === "delivered" ? "" : await readTextExcerpt(response.body, ERROR_SNIPPET_CHARS);
		if (responseClass === "delivered") await response.body?.cancel();
		return {
			class: responseClass,
			httpStatus: response.status,
			error: responseClass === "delivered" ? null : `HTTP ${response.status}: ${text.slice(0, ERROR_SNIPPET_CHARS)}`,
			retryAfterSeconds: parseRetryAfter(response.headers.get("retry-after"), Date.now()),
			durationMs: Date.now() - started,
		};
	} catch (error) {
		const timedOut = error instanceof DOMException && error.name === "TimeoutError";
		return {
			class: "retryable",
			httpStatus: null,
			error: timedOut ? `timed out after ${target.timeoutMs} ms` : `network error: ${errorMessage(error)}`,
			retryAfterSeconds: null,
			durationMs: Date.now() - started,
		};
	}
}
