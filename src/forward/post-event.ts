import { errorMessage } from "../log";
import { USER_AGENT } from "../version";
import { classifyStatus, type ResponseClass } from "./classify-response";
import { parseRetryAfter } from "./retry-schedule";
import { signWebhook } from "./sign";

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
	signingSecrets: readonly string[];
	timeoutMs: number;
}

/**
 * One signed POST of one CloudEvent. `webhook-id` is the event id on every attempt and replay;
 * the timestamp and signature are fresh each time, as Standard Webhooks expects.
 */
export async function postEvent(target: PostTarget, eventId: string, body: string): Promise<PostResult> {
	const started = Date.now();
	const timestamp = Math.floor(started / 1000);
	try {
		const response = await fetch(target.url, {
			method: "POST",
			headers: {
				"content-type": "application/cloudevents+json",
				"user-agent": USER_AGENT,
				"webhook-id": eventId,
				"webhook-timestamp": String(timestamp),
				"webhook-signature": await signWebhook(target.signingSecrets, eventId, timestamp, body),
			},
			body,
			// A redirected POST can turn into a GET elsewhere; a moved endpoint is a retryable failure.
			redirect: "manual",
			signal: AbortSignal.timeout(target.timeoutMs),
		});
		const responseClass = classifyStatus(response.status);
		const text = responseClass === "delivered" ? "" : await response.text();
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
