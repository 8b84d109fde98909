import type { Context, MiddlewareHandler } from "hono";
import { basicAuth } from "hono/basic-auth";
import { type IngestConfig, readIngestConfig } from "../config";
import { log } from "../log";
import type { AppEnv } from "./app-env";
import { callbackGuardRefusal } from "./callback-guards";
import { NotConfiguredError } from "./errors";
import { isLoopbackRequest } from "./ip-address";
import { RejectionCounter } from "./rejection-counter";

const REALM = "bandwidth-relay";
const unauthorized = new RejectionCounter("callback_unauthorized_total");

const checkers = new WeakMap<NonNullable<IngestConfig["credentials"]>, MiddlewareHandler<AppEnv>>();

function checkerFor(credentials: NonNullable<IngestConfig["credentials"]>): MiddlewareHandler<AppEnv> {
	let checker = checkers.get(credentials);
	if (checker === undefined) {
		checker = basicAuth({
			username: credentials.username,
			password: credentials.password,
			realm: REALM,
			// Bandwidth's first attempt carries no credentials and retries with them only after a
			// 401 that has this challenge; without it the callback is lost.
			invalidUserMessage: (c) => {
				const presented = c.req.header("authorization") !== undefined;
				unauthorized.count();
				return {
					error: {
						code: "unauthorized",
						message: presented ? "wrong credentials" : "credentials required",
					},
				};
			},
		});
		checkers.set(credentials, checker);
	}
	return checker;
}

/**
 * The callback settings, read once per isolate, and set on the context for the route. An invalid
 * setting answers 503 to whoever asks; which setting, only the log says.
 */
function ingestConfigOf(c: Context<AppEnv>): IngestConfig {
	const config = readIngestConfig(c.env);
	if (!config.ok) {
		log.error("config_invalid", { message: config.message });
		throw new NotConfiguredError();
	}
	c.set("ingestConfig", config.value);
	return config.value;
}

/**
 * Who may post a callback: an address BANDWIDTH_ALLOWED_IPS allows, within CALLBACK_RATE_LIMITER
 * (callback-guards.ts), with the Basic credentials compared in constant time. The body is not read
 * before all three pass.
 */
export const bandwidthAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
	const config = ingestConfigOf(c);
	const refusal = await callbackGuardRefusal(c, config);
	if (refusal !== null) return refusal;
	const { credentials, allowUnauthenticated } = config;
	if (credentials !== null) return checkerFor(credentials)(c, next);
	// The development switch never opens a deployed Worker, say one whose secrets are mid-rotation:
	// only a request made on this machine qualifies.
	if (allowUnauthenticated && isLoopbackRequest(c.req.raw)) return next();
	log.error("callback_credentials_unset", {
		message: allowUnauthenticated
			? "BANDWIDTH_USERNAME and BANDWIDTH_PASSWORD are not set, and ALLOW_UNAUTHENTICATED=true applies only to loopback requests"
			: "BANDWIDTH_USERNAME and BANDWIDTH_PASSWORD are not set; set them, or ALLOW_UNAUTHENTICATED=true for local development",
	});
	throw new NotConfiguredError();
};
