import type { MiddlewareHandler } from "hono";
import { basicAuth } from "hono/basic-auth";
import { type IngestConfig, readIngestConfig } from "../config";
import { log } from "../log";
import type { AppEnv } from "./app-env";
import { NotConfiguredError } from "./errors";

const REALM = "bandwidth-relay";

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
				log.info("callback_unauthorized", { credentialsPresented: presented });
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

/** Basic auth for the callback route, compared in constant time; the body is not read before it. */
export const bandwidthAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
	const config = readIngestConfig(c.env);
	if (!config.ok) {
		log.error("config_invalid", { message: config.message });
		throw new NotConfiguredError(`the relay's configuration is invalid: ${config.message}`);
	}
	c.set("ingestConfig", config.value);
	const { credentials, allowUnauthenticated } = config.value;
	if (credentials !== null) return checkerFor(credentials)(c, next);
	if (allowUnauthenticated) return next();
	log.error("callback_credentials_unset");
	throw new NotConfiguredError(
		"BANDWIDTH_USERNAME and BANDWIDTH_PASSWORD are not set; set them, or ALLOW_UNAUTHENTICATED=true for local development",
	);
};
