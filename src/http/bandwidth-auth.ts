import type { Context, MiddlewareHandler } from "hono";
import { basicAuth } from "hono/basic-auth";
import { type IngestConfig, readIngestConfig, readLedgerConfig } from "../config";
import { log } from "../log";
import type { AppEnv } from "./app-env";
import { matchCredential } from "./callback-credentials";
import { callbackGuardRefusal } from "./callback-guards";
import { NotConfiguredError } from "./errors";
import { isLoopbackRequest } from "./ip-address";
import { RejectionCounter } from "./rejection-counter";

const REALM = "bandwidth-relay";
const unauthorized = new RejectionCounter("callback_unauthorized_total");

const checkers = new WeakMap<IngestConfig["credentials"], MiddlewareHandler<AppEnv>>();

function checkerFor(credentials: IngestConfig["credentials"]): MiddlewareHandler<AppEnv> {
	let checker = checkers.get(credentials);
	if (checker === undefined) {
		checker = basicAuth({
			verifyUser: async (username, password, c: Context<AppEnv>) => {
				const credential = await matchCredential(credentials, username, password);
				if (credential !== null) {
					c.set("callbackApplications", credential.applicationIds);
					c.set("authenticated", true);
				}
				return credential !== null;
			},
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
 * setting answers 503 to whoever asks; which setting, only the log says. LEDGER_BUCKETS is one of
 * them: an event placed in a bucket by a guess could miss its duplicates later.
 */
function ingestConfigOf(c: Context<AppEnv>): IngestConfig {
	const config = readIngestConfig(c.env);
	const ledgers = readLedgerConfig(c.env);
	if (!config.ok || !ledgers.ok) {
		log.error("config_invalid", {
			message: [config, ledgers].flatMap((read) => (read.ok ? [] : [read.message])).join("; "),
		});
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
	if (credentials.length > 0) return checkerFor(credentials)(c, next);
	// The development switch never opens a deployed Worker, say one whose secrets are mid-rotation:
	// only a request made on this machine qualifies.
	if (allowUnauthenticated && isLoopbackRequest(c.req.raw)) {
		c.set("callbackApplications", null);
		return next();
	}
	log.error("callback_credentials_unset", {
		message: allowUnauthenticated
			? "neither BANDWIDTH_CREDENTIALS nor BANDWIDTH_USERNAME and BANDWIDTH_PASSWORD are set, and ALLOW_UNAUTHENTICATED=true applies only to loopback requests"
			: "neither BANDWIDTH_CREDENTIALS nor BANDWIDTH_USERNAME and BANDWIDTH_PASSWORD are set; set one, or ALLOW_UNAUTHENTICATED=true for local development",
	});
	throw new NotConfiguredError();
};
