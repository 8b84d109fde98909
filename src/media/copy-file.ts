import { readStreamCapped } from "../http/read-body";
import { errorMessage } from "../log";
import { authorizationFor, forgetToken, type MediaCredentials } from "./bandwidth-token";
import type { MediaHost } from "./media-hosts";
import { checkMediaUrl } from "./media-url";

/*
 * One download from Bandwidth's media host into R2. This is the only code that attaches Bandwidth
 * credentials to a media request, so it checks the host and path itself, whatever its caller
 * checked, and never follows a redirect: fetch's own redirect handling would resend the
 * Authorization header.
 */

export type CopyOutcome =
	| { status: "copied"; contentType: string; bytes: number; sha256: string }
	| { status: "retry" | "failed" | "skipped"; reason: string };

export interface CopyInput {
	url: string;
	/** The event's message id: the only media path the URL may name. */
	messageId: string;
	key: string;
	hosts: readonly MediaHost[];
	credentials: MediaCredentials;
	maxBytes: number;
	bucket: R2Bucket;
	timeoutMs: number;
}

/** Answers worth another try within the 48 hours; any other 4xx (404, 410) will not change. */
const RETRYABLE = new Set([401, 403, 408, 425, 429]);

function hex(bytes: ArrayBuffer): string {
	return [...new Uint8Array(bytes)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function download(url: URL, input: CopyInput): Promise<CopyOutcome> {
	let authorization: string;
	try {
		authorization = await authorizationFor(input.credentials);
	} catch (error) {
		return { status: "retry", reason: errorMessage(error) };
	}
	const response = await fetch(url, {
		headers: { authorization },
		redirect: "manual",
		signal: AbortSignal.timeout(input.timeoutMs),
	});
	if (response.status >= 300 && response.status < 400) {
		await response.body?.cancel();
		return { status: "failed", reason: `HTTP ${response.status}: redirects are not followed with credentials` };
	}
	if (response.status !== 200) {
		await response.body?.cancel();
		if (response.status === 401) forgetToken(input.credentials);
		const retry = RETRYABLE.has(response.status) || response.status >= 500;
		return { status: retry ? "retry" : "failed", reason: `HTTP ${response.status}` };
	}
	const declared = Number(response.headers.get("content-length") ?? Number.NaN);
	const tooLarge = { status: "skipped", reason: `larger than MEDIA_MAX_BYTES (${input.maxBytes})` } as const;
	if (declared > input.maxBytes || response.body === null) {
		await response.body?.cancel();
		return response.body === null ? { status: "failed", reason: "empty response" } : tooLarge;
	}
	const bytes = await readStreamCapped(response.body, input.maxBytes);
	if (bytes === null) return tooLarge;
	const contentType = response.headers.get("content-type") ?? "application/octet-stream";
	const sha256 = hex(await crypto.subtle.digest("SHA-256", bytes));
	await input.bucket.put(input.key, bytes, {
		httpMetadata: { contentType },
		customMetadata: { sha256 },
		sha256,
	});
	return { status: "copied", contentType, bytes: bytes.byteLength, sha256 };
}

export async function copyFile(input: CopyInput): Promise<CopyOutcome> {
	const checked = checkMediaUrl(input.url, input.hosts, input.messageId);
	if (!checked.ok) return { status: checked.status, reason: checked.reason };
	try {
		return await download(checked.url, input);
	} catch (error) {
		const timedOut = error instanceof DOMException && error.name === "TimeoutError";
		return { status: "retry", reason: timedOut ? `timed out after ${input.timeoutMs} ms` : errorMessage(error) };
	}
}
