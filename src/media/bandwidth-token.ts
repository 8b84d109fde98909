import * as v from "valibot";
import { errorMessage } from "../log";

/*
 * The Authorization header for Bandwidth's media host. OAuth2 client credentials (Bandwidth retires
 * API users on 2026-12-02): the token is fetched with HTTP Basic client authentication and cached
 * per isolate until a minute before it expires; concurrent copies share one fetch. The legacy API
 * user's Basic header is the fallback.
 */

export type MediaCredentials =
	| { kind: "oauth"; clientId: string; clientSecret: string; tokenUrl: string }
	| { kind: "basic"; username: string; password: string };

const TokenResponseSchema = v.object({
	access_token: v.pipe(v.string(), v.nonEmpty()),
	expires_in: v.optional(v.pipe(v.number(), v.minValue(0)), 3600),
});

/** A token this close to its expiry is renewed: a copy can take a while to start after it is read. */
const RENEW_BEFORE_MS = 60_000;
const TOKEN_TIMEOUT_MS = 10_000;

interface CachedToken {
	value: string;
	expiresAt: number;
}

const tokens = new Map<string, Promise<CachedToken>>();

const cacheKey = (c: Extract<MediaCredentials, { kind: "oauth" }>) => `${c.tokenUrl}\n${c.clientId}\n${c.clientSecret}`;

async function fetchToken(c: Extract<MediaCredentials, { kind: "oauth" }>): Promise<CachedToken> {
	const started = Date.now();
	let response: Response;
	try {
		response = await fetch(c.tokenUrl, {
			method: "POST",
			headers: {
				authorization: `Basic ${btoa(`${c.clientId}:${c.clientSecret}`)}`,
				"content-type": "application/x-www-form-urlencoded",
				accept: "application/json",
			},
			body: "grant_type=client_credentials",
			// The secret went with this request; a redirect would carry the body elsewhere.
			redirect: "manual",
			signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
		});
	} catch (error) {
		throw new Error(`token endpoint unreachable: ${errorMessage(error)}`);
	}
	if (response.status !== 200) {
		await response.body?.cancel();
		throw new Error(`token endpoint answered HTTP ${response.status}`);
	}
	const parsed = v.safeParse(TokenResponseSchema, await response.json().catch(() => null));
	if (!parsed.success) throw new Error("token endpoint answered without an access_token");
	return { value: parsed.output.access_token, expiresAt: started + parsed.output.expires_in * 1000 };
}

export async function authorizationFor(credentials: MediaCredentials, now = Date.now()): Promise<string> {
	if (credentials.kind === "basic") return `Basic ${btoa(`${credentials.username}:${credentials.password}`)}`;
	const key = cacheKey(credentials);
	const known = tokens.get(key);
	if (known !== undefined) {
		const cached = await known.catch(() => null);
		if (cached !== null && cached.expiresAt - RENEW_BEFORE_MS > now) return `Bearer ${cached.value}`;
		// Stale or failed; another caller may already have replaced it while this one waited.
		if (tokens.get(key) === known) tokens.delete(key);
	}
	let fresh = tokens.get(key);
	if (fresh === undefined) {
		const fetching = fetchToken(credentials);
		fresh = fetching;
		tokens.set(key, fetching);
		// A failed fetch is not kept: the next copy asks again.
		fetching.catch(() => {
			if (tokens.get(key) === fetching) tokens.delete(key);
		});
	}
	return `Bearer ${(await fresh).value}`;
}

/** After a 401 from the media host: the cached token is not trusted again. */
export function forgetToken(credentials: MediaCredentials): void {
	if (credentials.kind === "oauth") tokens.delete(cacheKey(credentials));
}
