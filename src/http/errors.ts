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

export class StorageUnavailableError extends HttpError {
	constructor() {
		super(500, "storage_unavailable", "the events could not be stored; retry later");
	}
}

export class NotConfiguredError extends HttpError {
	constructor(message: string) {
		super(503, "not_configured", message);
	}
}

export class ServiceUnavailableError extends HttpError {
	constructor(code: string, message: string) {
		super(503, code, message);
	}
}
