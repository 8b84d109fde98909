import type { MiddlewareHandler } from "hono";
import { readAdminConfig } from "../config";
import { log } from "../log";
import type { AppEnv } from "./app-env";
import { NotFoundError, RateLimitedError, UnauthorizedError } from "./errors";
import { CLIENT_IP_HEADER, isLoopback, parseIp, rateLimitKeyOf } from "./ip-address";
import { WrongTokenBound } from "./wrong-token-bound";

const CHALLENGE = 'Bearer realm="bandwidth-relay"';
const BEARER = /^Bearer +(\S+) *$/i;
const encoder = new TextEncoder();

async function digest(text: string): Promise<ArrayBuffer> {
	return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

/** Comparing digests gives equal lengths for timingSafeEqual and keeps the token's length out of the timing too. */
async function sameToken(presented: string, expected: string): Promise<boolean> {
	const [a, b] = await Promise.all([digest(presented), digest(expected)]);
	return crypto.subtle.timingSafeEqual(a, b);
}

const wrongTokens = new WrongTokenBound();

/**
 * The key wrong tokens are bounded by: the client's address (an IPv6 client's /64). None for a
 * request without one, or from this machine: behind Cloudflare every request has one, and a local
 * run is not what the bound guards against (as for the callback's rate limit).
 */
function guesserKeyOf(header: string | undefined): string | null {
	const address = header === undefined ? null : parseIp(header.trim());
	return address === null || isLoopback(address) ? null : rateLimitKeyOf(address);
}

/**
 * Bearer ADMIN_TOKEN for /v1/*. While the token is unset the admin API answers exactly like a route
 * that does not exist, so a deployment without it exposes nothing, not even that it exists.
 */
export const adminAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
	const config = readAdminConfig(c.env);
	if (!config.ok) log.error("config_invalid", { message: config.message });
	const token = config.ok ? config.value.adminToken : null;
	if (token === null) throw new NotFoundError();

	const presented = BEARER.exec(c.req.header("authorization") ?? "")?.[1];
	if (presented === undefined) throw new UnauthorizedError("a bearer token is required", CHALLENGE);
	const guesser = guesserKeyOf(c.req.header(CLIENT_IP_HEADER));
	const retryAfter = guesser === null ? null : wrongTokens.retryAfterSeconds(guesser);
	if (retryAfter !== null) throw new RateLimitedError(retryAfter);
	if (!(await sameToken(presented, token))) {
		if (guesser !== null) wrongTokens.fail(guesser);
		throw new UnauthorizedError("wrong token", CHALLENGE);
	}
	c.set("authenticated", true);
	await next();
};
