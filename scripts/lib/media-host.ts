import { mediaContentType, mediaFile } from "./media-content.ts";

/*
 * A stand-in for Bandwidth's media host and OAuth2 token endpoint, for `npm start` and the tests.
 * Like Bandwidth it serves media only with credentials: a bearer token it issued from
 * POST /api/v1/oauth2/token (HTTP Basic client id and secret, grant_type=client_credentials), or
 * the legacy API user's Basic pair. Media paths are Bandwidth's:
 * /api/v2/users/<account>/media/<messageId>/<index>/<file>; `?bytes=N` sets the size and
 * `?delayMs=N` holds the answer that long (a slow host, for the media bench).
 */

export const TOKEN_PATH = "/api/v1/oauth2/token";
const MEDIA_PATH = /^\/api\/v2\/users\/[^/]+\/media\/[^/]+\/\d+\/[^/]+$/;
const TOKEN_LIFETIME_SECONDS = 3600;

export interface MediaHostCredentials {
	clientId: string;
	clientSecret: string;
	username?: string;
	password?: string;
}

export interface MediaHostAnswer {
	status: number;
	headers: Record<string, string>;
	body: Uint8Array | string;
	/** How long the server holds the answer. */
	delayMs?: number;
}

const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;
const json = (status: number, value: unknown): MediaHostAnswer => ({
	status,
	headers: { "content-type": "application/json" },
	body: JSON.stringify(value),
});

export function createMediaHost(credentials: MediaHostCredentials) {
	const issued = new Set<string>();
	return {
		/** The answer for a request on one of its paths, or null for any other path. */
		answer(method: string, url: URL, authorization: string, body: string): MediaHostAnswer | null {
			if (url.pathname === TOKEN_PATH) {
				if (method !== "POST") return json(405, { error: "method_not_allowed" });
				if (authorization !== basic(credentials.clientId, credentials.clientSecret)) {
					return json(401, { error: "invalid_client" });
				}
				if (new URLSearchParams(body).get("grant_type") !== "client_credentials") {
					return json(400, { error: "unsupported_grant_type" });
				}
				const token = `local-token-${crypto.randomUUID()}`;
				issued.add(token);
				return json(200, { access_token: token, token_type: "bearer", expires_in: TOKEN_LIFETIME_SECONDS });
			}
			if (!MEDIA_PATH.test(url.pathname)) return null;
			const bearer = /^Bearer (\S+)$/.exec(authorization)?.[1];
			const legacy =
				credentials.username !== undefined &&
				credentials.password !== undefined &&
				authorization === basic(credentials.username, credentials.password);
			if (!(bearer !== undefined && issued.has(bearer)) && !legacy) {
				return { status: 401, headers: { "www-authenticate": 'Bearer realm="media"' }, body: "" };
			}
			const size = url.searchParams.get("bytes");
			const bytes = mediaFile(url.pathname, size === null ? undefined : Number(size));
			return {
				status: 200,
				headers: { "content-type": mediaContentType(url.pathname), "content-length": String(bytes.byteLength) },
				body: bytes,
				delayMs: Math.min(Number(url.searchParams.get("delayMs") ?? 0) || 0, 60_000),
			};
		},
	};
}
