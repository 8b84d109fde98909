/*
 * The public admin API, nothing else. The token lives in sessionStorage only: it goes in the
 * Authorization header, never in a URL (history, Referer) or a cookie (sent on its own), and is
 * never logged. Closing the tab forgets it.
 */

const TOKEN_KEY = "bandwidth-relay.admin-token";

export const adminToken = {
	get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
	set: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token),
	clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
	) {
		super(message);
	}
}

let onUnauthorized: () => void = () => {};

/** What to do when the API refuses the stored token (revoked or rotated): sign out. */
export function whenUnauthorized(handler: () => void): void {
	onUnauthorized = handler;
}

interface ErrorBody {
	error?: { code?: string; message?: string };
}

async function call<TAnswer>(
	path: string,
	method: "GET" | "POST",
	body: unknown,
	token: string | null,
): Promise<TAnswer> {
	const headers: Record<string, string> = { accept: "application/json" };
	if (token !== null) headers.authorization = `Bearer ${token}`;
	if (body !== undefined) headers["content-type"] = "application/json";
	const response = await fetch(path, {
		method,
		headers,
		body: body === undefined ? null : JSON.stringify(body),
		cache: "no-store",
		credentials: "omit",
	});
	const text = await response.text();
	let json: unknown = null;
	try {
		json = text === "" ? null : JSON.parse(text);
	} catch {
		// A non-JSON answer (a proxy's error page) is reported by its status below.
	}
	if (!response.ok) {
		const error = (json as ErrorBody | null)?.error;
		throw new ApiError(
			response.status,
			error?.code ?? `http_${response.status}`,
			`${response.status} ${error?.code ?? ""}: ${error?.message ?? response.statusText}`.replace(" :", ":"),
		);
	}
	return json as TAnswer;
}

/** An admin route with the stored token; a 401 signs the console out. */
export async function admin<TAnswer>(path: string, body?: unknown): Promise<TAnswer> {
	try {
		return await call<TAnswer>(`/v1${path}`, body === undefined ? "GET" : "POST", body, adminToken.get());
	} catch (error) {
		if (error instanceof ApiError && error.status === 401) onUnauthorized();
		throw error;
	}
}

/**
 * Whether the API accepts `token`, by a cheap authenticated read: the first delivery row by primary
 * key (small, unlike a quarantined element, which may be megabytes). 401 is a wrong token; 404
 * means ADMIN_TOKEN is unset and the admin API is off.
 */
export async function checkToken(token: string): Promise<void> {
	await call("/v1/deliveries?limit=1", "GET", undefined, token);
}

/** GET /health is public and answers its body with a 503 too (D1 unreachable). */
export async function health<THealth>(): Promise<THealth> {
	const response = await fetch("/health", { cache: "no-store", credentials: "omit" });
	return (await response.json()) as THealth;
}

/** `?a=1&b=2` from the defined entries, or "". */
export function query(params: Record<string, string | number | null | undefined>): string {
	const search = new URLSearchParams();
	for (const [name, value] of Object.entries(params)) {
		if (value !== null && value !== undefined && value !== "") search.set(name, String(value));
	}
	const text = search.toString();
	return text === "" ? "" : `?${text}`;
}
