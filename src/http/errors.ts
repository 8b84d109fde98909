import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * Every rejection the Worker makes is one of these: a status, a stable code a client can branch
 * on, and a short message. The body shape is the same everywhere (DESIGN §2).
 */
export class HttpError extends Error {
	constructor(
		readonly status: ContentfulStatusCode,
		readonly code: string,
		message: string,
		readonly headers: Record<string, string> = {},
	) {
		super(message);
		this.name = new.target.name;
	}

	toResponse(): Response {
		return Response.json(
			{ error: { code: this.code, message: this.message } },
			{ status: this.status, headers: this.headers },
		);
	}
}

export class InvalidJsonError extends HttpError {
	constructor(message: string) {
		super(400, "invalid_json", message);
	}
}

export class InvalidBatchError extends HttpError {
	constructor(message: string) {
		super(400, "invalid_batch", message);
	}
}

export class InvalidParameterError extends HttpError {
	constructor(message: string) {
		super(400, "invalid_parameter", message);
	}
}

export class UnauthorizedError extends HttpError {
	constructor(message: string, challenge?: string) {
		super(401, "unauthorized", message, challenge ? { "WWW-Authenticate": challenge } : {});
	}
}

export class NotFoundError extends HttpError {
	constructor(message = "no such route") {
		super(404, "not_found", message);
	}
}

export class MethodNotAllowedError extends HttpError {
	constructor(allowed: readonly string[]) {
		super(405, "method_not_allowed", `use ${allowed.join(" or ")}`, { Allow: allowed.join(", ") });
	}
}

/** The client's address is outside BANDWIDTH_ALLOWED_IPS. */
export class ForbiddenIpError extends HttpError {
	constructor() {
		super(403, "forbidden_ip", "this address may not post callbacks");
	}
}

/** The resource is not in a state the request applies to (a probe of a closed breaker). */
export class ConflictError extends HttpError {
	constructor(code: string, message: string) {
		super(409, code, message);
	}
}

export class PayloadTooLargeError extends HttpError {
	constructor(message: string) {
		super(413, "payload_too_large", message);
	}
}

export class UnsupportedMediaTypeError extends HttpError {
	constructor(contentType: string) {
		super(415, "unsupported_media_type", `expected a JSON body, got ${contentType}`);
	}
}

export class RateLimitedError extends HttpError {
	constructor(retryAfterSeconds: number) {
		super(429, "rate_limited", "too many requests from this address; retry later", {
			"Retry-After": String(retryAfterSeconds),
		});
	}
}

export class StorageUnavailableError extends HttpError {
	constructor() {
		super(500, "storage_unavailable", "the events could not be stored; retry later");
	}
}

/** The body says no more than this: the caller may be anyone. What is wrong goes to the log. */
export class NotConfiguredError extends HttpError {
	constructor() {
		super(503, "not_configured", "the relay is not configured");
	}
}

export class ServiceUnavailableError extends HttpError {
	constructor(code: string, message: string) {
		super(503, code, message);
	}
}

/** The deployment has no R2 bucket bound as ARCHIVE: history is bounded by D1. */
export class ArchiveNotConfiguredError extends HttpError {
	constructor() {
		super(404, "archive_not_configured", "this deployment has no archive bucket (ARCHIVE)");
	}
}
