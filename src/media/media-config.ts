import * as v from "valibot";
import { DEFAULT_RETENTION_CONFIG, effectiveRetentionDays, readForwardConfig, readRetentionConfig } from "../config";
import { integerVar, OptionalString, optionalIntegerVar, reader } from "../env-vars";
import type { MediaCredentials } from "./bandwidth-token";
import { isSafeTokenUrl, MediaHostsSchema } from "./media-hosts";

/*
 * The media copies' settings (README "Inbound MMS media"). Read on their own, like every concern
 * in src/config.ts: a bad media setting stops media copies, never ingest or forwarding.
 */

/** Bandwidth's OAuth2 token endpoint: its OpenAPI spec's securitySchemes.OAuth2 and its SDKs. */
export const BANDWIDTH_TOKEN_URL = "https://api.bandwidth.com/api/v1/oauth2/token";
/** Bandwidth accepts 3.75 MB per file on upload; a little more leaves room for what carriers send. */
const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;
/** Everything is read into memory to hash it before R2 gets it: a Worker has 128 MB. */
const MAX_MAX_BYTES = 25 * 1024 * 1024;
const DEFAULT_FORWARD_DELAY_MS = 10_000;
const DEFAULT_URL_TTL_HOURS = 7 * 24;

const optionalUrl = (name: string) =>
	v.pipe(OptionalString, v.optional(v.pipe(v.string(), v.url(`${name} must be an absolute URL`))));

const MediaConfigSchema = v.object({
	BANDWIDTH_CLIENT_ID: OptionalString,
	BANDWIDTH_CLIENT_SECRET: OptionalString,
	BANDWIDTH_API_USERNAME: OptionalString,
	BANDWIDTH_API_PASSWORD: OptionalString,
	BANDWIDTH_TOKEN_URL: v.pipe(
		OptionalString,
		v.optional(v.string(), BANDWIDTH_TOKEN_URL),
		v.string(),
		v.check(isSafeTokenUrl, "BANDWIDTH_TOKEN_URL must be an https URL (http only to a loopback host:port)"),
	),
	BANDWIDTH_MEDIA_HOSTS: MediaHostsSchema,
	MEDIA_MAX_BYTES: integerVar("MEDIA_MAX_BYTES", DEFAULT_MAX_BYTES, 1, MAX_MAX_BYTES),
	MEDIA_FORWARD_DELAY_MS: integerVar("MEDIA_FORWARD_DELAY_MS", DEFAULT_FORWARD_DELAY_MS, 0, 60_000),
	MEDIA_URL_TTL_HOURS: integerVar("MEDIA_URL_TTL_HOURS", DEFAULT_URL_TTL_HOURS, 1, 24 * 400),
	// Bandwidth keeps its files 2 days: a shorter copy would be no better than the original.
	MEDIA_RETENTION_DAYS: optionalIntegerVar("MEDIA_RETENTION_DAYS", 2),
	MEDIA_URL_SECRET: OptionalString,
	PUBLIC_URL: optionalUrl("PUBLIC_URL"),
});

function credentialsOf(env: v.InferOutput<typeof MediaConfigSchema>): MediaCredentials | null {
	if (env.BANDWIDTH_CLIENT_ID !== undefined && env.BANDWIDTH_CLIENT_SECRET !== undefined) {
		return {
			kind: "oauth",
			clientId: env.BANDWIDTH_CLIENT_ID,
			clientSecret: env.BANDWIDTH_CLIENT_SECRET,
			tokenUrl: env.BANDWIDTH_TOKEN_URL,
		};
	}
	if (env.BANDWIDTH_API_USERNAME !== undefined && env.BANDWIDTH_API_PASSWORD !== undefined) {
		return { kind: "basic", username: env.BANDWIDTH_API_USERNAME, password: env.BANDWIDTH_API_PASSWORD };
	}
	return null;
}

const readMediaVars = reader(MediaConfigSchema, (env) => ({
	/** Null: media is not copied (each file is recorded as skipped). */
	credentials: credentialsOf(env),
	hosts: env.BANDWIDTH_MEDIA_HOSTS,
	maxBytes: env.MEDIA_MAX_BYTES,
	forwardDelayMs: env.MEDIA_FORWARD_DELAY_MS,
	urlTtlSeconds: env.MEDIA_URL_TTL_HOURS * 3600,
	ownRetentionDays: env.MEDIA_RETENTION_DAYS ?? null,
	/** Raw key material for links: MEDIA_URL_SECRET, else derived from the first forward secret (media-link.ts). */
	linkSecret: env.MEDIA_URL_SECRET ?? null,
	publicUrl: env.PUBLIC_URL === undefined ? null : new URL(env.PUBLIC_URL).origin,
}));

export type MediaConfig = Extract<ReturnType<typeof readMediaVars>, { ok: true }>["value"] & {
	retentionDays: number;
	/** The first FORWARD_SIGNING_SECRET (read, and reported when invalid, with forwarding's settings). */
	forwardSecret: string | null;
};

/** The media settings, with the retention that applies: MEDIA_RETENTION_DAYS, else the events' own. */
export function readMediaConfig(env: object): { ok: true; value: MediaConfig } | { ok: false; message: string } {
	const own = readMediaVars(env);
	if (!own.ok) return own;
	const retention = readRetentionConfig(env);
	const eventDays = effectiveRetentionDays(
		env,
		(retention.ok ? retention.value : DEFAULT_RETENTION_CONFIG).retentionDays,
	);
	const forward = readForwardConfig(env);
	const forwardSecret = (forward.ok ? forward.value.signingSecrets[0] : undefined) ?? null;
	return { ok: true, value: { ...own.value, retentionDays: own.value.ownRetentionDays ?? eventDays, forwardSecret } };
}

/** For /health and its log line, beside src/config.ts's configProblems: only while MEDIA is bound. */
export function mediaConfigProblems(env: { MEDIA?: unknown }): string[] {
	if (env.MEDIA === undefined) return [];
	const config = readMediaConfig(env);
	if (!config.ok) return [config.message];
	// Destinations may all have their own secrets: links then need MEDIA_URL_SECRET.
	if (config.value.linkSecret === null && config.value.forwardSecret === null) {
		return ["media links cannot be signed: set MEDIA_URL_SECRET (or FORWARD_SIGNING_SECRET)"];
	}
	return [];
}
