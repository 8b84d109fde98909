import type { Context } from "hono";
import type { IngestConfig } from "../config";
import { errorMessage } from "../log";
import type { AppEnv } from "./app-env";
import { ForbiddenIpError, RateLimitedError } from "./errors";
import { CLIENT_IP_HEADER, type IpAddress, inRange, isLoopback, parseIp, rateLimitKeyOf } from "./ip-address";
import { RejectionCounter } from "./rejection-counter";

/**
 * wrangler.toml's `[[ratelimits]]` period for CALLBACK_RATE_LIMITER. The binding does not say when
 * a key's window ends; a full period is the longest a caller can need to wait.
 */
export const RATE_LIMIT_PERIOD_SECONDS = 60;

const forbidden = new RejectionCounter("callback_forbidden_ip_total");
const limited = new RejectionCounter("callback_rate_limited_total");
const limiterFailures = new RejectionCounter("callback_rate_limiter_failed_total");

/** Optional: a deployment that removes the `[[ratelimits]]` block has no binding at all. */
function rateLimiterOf(env: Env): RateLimit | undefined {
	return (env as { CALLBACK_RATE_LIMITER?: RateLimit }).CALLBACK_RATE_LIMITER;
}

function clientAddressOf(c: Context<AppEnv>): { reported: string | null; address: IpAddress | null } {
	const reported = c.req.header(CLIENT_IP_HEADER) ?? null;
	return { reported, address: reported === null ? null : parseIp(reported.trim()) };
}

/**
 * BANDWIDTH_ALLOWED_IPS, when set: an address outside it, or a request with no address to check,
 * is refused.
 */
function allowlistRefusal(c: Context<AppEnv>, allowedIps: IngestConfig["allowedIps"]): Response | null {
	if (allowedIps === null) return null;
	const { reported, address } = clientAddressOf(c);
	if (address !== null && allowedIps.some((range) => inRange(address, range))) return null;
	forbidden.count({ ip: reported });
	return new ForbiddenIpError().toResponse();
}

/**
 * CALLBACK_RATE_LIMITER, when bound: requests per client address (an IPv6 client's /64) per
 * period, counted per Cloudflare location. A request without a client address, or from this
 * machine, is not counted: behind Cloudflare every request has one, and a local run (wrangler dev,
 * the benchmarks) is not what the limit guards against. A limiter that fails lets the request
 * through: Bandwidth's callbacks must not depend on it.
 */
async function rateLimitRefusal(c: Context<AppEnv>): Promise<Response | null> {
	const limiter = rateLimiterOf(c.env);
	const { reported, address } = clientAddressOf(c);
	if (limiter === undefined || address === null || isLoopback(address)) return null;
	try {
		if ((await limiter.limit({ key: rateLimitKeyOf(address) })).success) return null;
	} catch (error) {
		limiterFailures.count({ error: errorMessage(error) });
		return null;
	}
	limited.count({ ip: reported });
	return new RateLimitedError(RATE_LIMIT_PERIOD_SECONDS).toResponse();
}

/**
 * What stands before the credentials on the callback route; null lets the request on. Both checks
 * key on CF-Connecting-IP, which Cloudflare sets on every request from the internet and a client
 * cannot forge there, and both are cheap to refuse: no body read, no storage, and a counted log
 * line rather than one per request. The allowlist needs no I/O, so it goes first.
 */
export async function callbackGuardRefusal(c: Context<AppEnv>, config: IngestConfig): Promise<Response | null> {
	return allowlistRefusal(c, config.allowedIps) ?? (await rateLimitRefusal(c));
}
