import * as v from "valibot";
import { NORMALIZED_TYPES } from "./bandwidth/event-types";
import { readDestinations } from "./destinations/read-destinations";
import {
	type ConfigResult,
	integerVar,
	listVar,
	OptionalString,
	ratioVar,
	reader,
	signingSecretsVar,
	unset,
} from "./env-vars";
import { CallbackCredentialsSchema, callbackCredentialsOf } from "./http/callback-credentials";
import { parseIpRange } from "./http/ip-address";
import { LedgerBucketsVar } from "./ledger/bucket-schedule";

/*
 * Environment variables arrive as strings (wrangler vars, secrets, .dev.vars). Each concern reads
 * only its own part, so a bad forwarding setting never stops ingest from accepting callbacks.
 * An empty string means unset: that is how wrangler.toml spells "no default".
 */

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const MAX_BODY_BYTES_LIMIT = 1_800_000;
const DEFAULT_RETENTION_DAYS = 30;
export const MIN_RETENTION_DAYS = 2;
const DAY_SECONDS = 24 * 60 * 60;
/** The retry delays' jitter (src/forward/retry-schedule.ts): a schedule can run 20 % longer. */
const SCHEDULE_JITTER = 1.2;
/**
 * How long a ledger remembers an event id. Bandwidth retries one callback for 24 h, so that is the
 * floor (with a day of margin); the default covers a delivery receipt that comes 73 h after sending
 * (Bandwidth, July 2026) plus its own 24 h of retries.
 */
const DEFAULT_DEDUPE_DAYS = 5;
export const MIN_DEDUPE_DAYS = 2;
/** 80 % of D1's 10 GB: the headroom absorbs a day of growth while an archive run is behind. */
const DEFAULT_D1_BUDGET_MB = 8000;
const D1_MAX_MB = 10_000;
const DEFAULT_ARCHIVE_RETENTION_DAYS = 400;
export const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];
const DEFAULT_FORWARD_TIMEOUT_MS = 10_000;

const IngestConfigSchema = v.object({
	BANDWIDTH_USERNAME: OptionalString,
	BANDWIDTH_PASSWORD: OptionalString,
	BANDWIDTH_CREDENTIALS: v.pipe(v.unknown(), v.transform(unset), v.optional(CallbackCredentialsSchema)),
	ALLOW_UNAUTHENTICATED: v.pipe(
		v.unknown(),
		v.transform((value) => value === "true"),
	),
	// A larger body could hold an element whose quarantine row D1 refuses (2 MB a row) on every retry.
	MAX_BODY_BYTES: integerVar("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1, MAX_BODY_BYTES_LIMIT),
	// Addresses and CIDR ranges, IPv4 and IPv6, separated by commas or spaces; empty = any address.
	BANDWIDTH_ALLOWED_IPS: v.pipe(
		OptionalString,
		v.optional(v.string(), ""),
		v.string(),
		v.transform((value) => value.split(/[\s,]+/).filter((item) => item !== "")),
		v.array(
			v.pipe(
				v.string(),
				v.rawTransform(({ dataset, addIssue, NEVER }) => {
					const range = parseIpRange(dataset.value);
					if (range !== null) return range;
					const entry = JSON.stringify(dataset.value.slice(0, 60));
					addIssue({ message: `BANDWIDTH_ALLOWED_IPS: ${entry} is not an IPv4 or IPv6 address or CIDR range` });
					return NEVER;
				}),
			),
		),
	),
});

const ForwardConfigSchema = v.object({
	FORWARD_URL: v.pipe(OptionalString, v.optional(v.pipe(v.string(), v.url("FORWARD_URL must be an absolute URL")))),
	FORWARD_SIGNING_SECRET: signingSecretsVar("FORWARD_SIGNING_SECRET"),
	FORWARD_EVENT_TYPES: listVar("FORWARD_EVENT_TYPES", NORMALIZED_TYPES),
	FORWARD_DIRECTIONS: listVar("FORWARD_DIRECTIONS", ["inbound", "outbound"] as const),
	FORWARD_RETRY_SCHEDULE: v.pipe(
		OptionalString,
		v.optional(v.string(), DEFAULT_RETRY_SCHEDULE.join(",")),
		v.string(),
		v.transform((value) => value.split(",").map((item) => item.trim())),
		v.array(
			v.pipe(v.string(), v.regex(/^\d+$/, "FORWARD_RETRY_SCHEDULE is a comma list of seconds"), v.transform(Number)),
		),
	),
	FORWARD_TIMEOUT_MS: integerVar("FORWARD_TIMEOUT_MS", DEFAULT_FORWARD_TIMEOUT_MS, 1),
});

const RetentionConfigSchema = v.object({
	// The default retry schedule spans about 28 h (33 h with jitter): a shorter history would purge an
	// event that is still retrying, and its death would then find no event to list or replay.
	RETENTION_DAYS: integerVar("RETENTION_DAYS", DEFAULT_RETENTION_DAYS, MIN_RETENTION_DAYS),
	DEDUPE_DAYS: integerVar("DEDUPE_DAYS", DEFAULT_DEDUPE_DAYS, MIN_DEDUPE_DAYS),
	D1_BUDGET_MB: integerVar("D1_BUDGET_MB", DEFAULT_D1_BUDGET_MB, 1, D1_MAX_MB),
	ARCHIVE_RETENTION_DAYS: integerVar("ARCHIVE_RETENTION_DAYS", DEFAULT_ARCHIVE_RETENTION_DAYS, 1),
});

const AdminConfigSchema = v.object({ ADMIN_TOKEN: OptionalString });

// How many ledger buckets messages hash over, by their creation time (src/ledger/bucket-schedule.ts).
const LedgerConfigSchema = v.object({ LEDGER_BUCKETS: LedgerBucketsVar });

const AlertConfigSchema = v.object({
	ALERT_URL: v.pipe(OptionalString, v.optional(v.pipe(v.string(), v.url("ALERT_URL must be an absolute URL")))),
	ALERT_SIGNING_SECRET: signingSecretsVar("ALERT_SIGNING_SECRET"),
	ALERT_FORMAT: v.pipe(
		OptionalString,
		v.optional(v.string(), "cloudevents"),
		v.picklist(["cloudevents", "slack"], "ALERT_FORMAT accepts only: cloudevents, slack"),
	),
});

/*
 * Deliverability alerts (src/insights/deliverability-alerts.ts): over the last 15 minutes of
 * receipts, an application or a number below the rate, or with one error code over the share, is
 * degraded, once it has at least the minimum of receipts (fewer say nothing either way).
 */
const DeliverabilityConfigSchema = v.object({
	DELIVERABILITY_ALERT_RATE: ratioVar("DELIVERABILITY_ALERT_RATE", 0.9),
	DELIVERABILITY_ALERT_MIN: integerVar("DELIVERABILITY_ALERT_MIN", 20, 1),
	// Below 1 − the rate to add anything: a code over 10 % of receipts already puts the rate under 0.9.
	DELIVERABILITY_ALERT_ERROR_SHARE: ratioVar("DELIVERABILITY_ALERT_ERROR_SHARE", 0.05),
});

export const readIngestConfig = reader(IngestConfigSchema, (env) => ({
	/** Empty when none is set. */
	credentials: callbackCredentialsOf(env.BANDWIDTH_CREDENTIALS, {
		username: env.BANDWIDTH_USERNAME,
		password: env.BANDWIDTH_PASSWORD,
	}),
	allowUnauthenticated: env.ALLOW_UNAUTHENTICATED,
	maxBodyBytes: env.MAX_BODY_BYTES,
	/** Null when unset: every address may post (the credentials still guard the route). */
	allowedIps: env.BANDWIDTH_ALLOWED_IPS.length > 0 ? env.BANDWIDTH_ALLOWED_IPS : null,
}));
export type IngestConfig = Extract<ReturnType<typeof readIngestConfig>, { ok: true }>["value"];

export const readForwardConfig = reader(ForwardConfigSchema, (env) => ({
	url: env.FORWARD_URL ?? null,
	signingSecrets: env.FORWARD_SIGNING_SECRET,
	eventTypes: new Set<string>(env.FORWARD_EVENT_TYPES),
	directions: new Set<string>(env.FORWARD_DIRECTIONS),
	retryScheduleSeconds: env.FORWARD_RETRY_SCHEDULE,
	timeoutMs: env.FORWARD_TIMEOUT_MS,
}));
export type ForwardConfig = Extract<ReturnType<typeof readForwardConfig>, { ok: true }>["value"];

export const readRetentionConfig = reader(RetentionConfigSchema, (env) => ({
	retentionDays: env.RETENTION_DAYS,
	dedupeDays: env.DEDUPE_DAYS,
	/** Megabytes as D1 counts them (10 GB = 10,000 MB). */
	d1BudgetBytes: env.D1_BUDGET_MB * 1_000_000,
	archiveRetentionDays: env.ARCHIVE_RETENTION_DAYS,
}));
export type RetentionConfig = Extract<ReturnType<typeof readRetentionConfig>, { ok: true }>["value"];
/** What the maintenance jobs use while the variables are invalid (the error is logged and in /health). */
export const DEFAULT_RETENTION_CONFIG: RetentionConfig = {
	retentionDays: DEFAULT_RETENTION_DAYS,
	dedupeDays: DEFAULT_DEDUPE_DAYS,
	d1BudgetBytes: DEFAULT_D1_BUDGET_MB * 1_000_000,
	archiveRetentionDays: DEFAULT_ARCHIVE_RETENTION_DAYS,
};

export const readLedgerConfig = reader(LedgerConfigSchema, (env) => ({ buckets: env.LEDGER_BUCKETS }));

export const readAdminConfig = reader(AdminConfigSchema, (env) => ({
	adminToken: env.ADMIN_TOKEN ?? null,
}));

export const readDeliverabilityConfig = reader(DeliverabilityConfigSchema, (env) => ({
	rate: env.DELIVERABILITY_ALERT_RATE,
	minReceipts: env.DELIVERABILITY_ALERT_MIN,
	errorShare: env.DELIVERABILITY_ALERT_ERROR_SHARE,
}));
export type DeliverabilityConfig = Extract<ReturnType<typeof readDeliverabilityConfig>, { ok: true }>["value"];

/** How long a retry schedule can run, in days, with its jitter. */
function scheduleSpanDays(schedule: readonly number[]): number {
	return (schedule.reduce((sum, step) => sum + step, 0) * SCHEDULE_JITTER) / DAY_SECONDS;
}

/**
 * The history retention actually applied: RETENTION_DAYS, but never shorter than the retry
 * schedule plus a day, so an event still retrying is in D1 when it dies (listed, replayable).
 * A shorter setting is also reported by configProblems.
 */
export function effectiveRetentionDays(env: object, retentionDays: number): number {
	const forward = readForwardConfig(env);
	const schedule = forward.ok ? forward.value.retryScheduleSeconds : DEFAULT_RETRY_SCHEDULE;
	return Math.max(retentionDays, Math.ceil(scheduleSpanDays(schedule) + 1));
}

const readAlertVars = reader(AlertConfigSchema, (env) => ({
	url: env.ALERT_URL ?? null,
	signingSecrets: env.ALERT_SIGNING_SECRET,
	format: env.ALERT_FORMAT,
}));
export type AlertConfig = Extract<ReturnType<typeof readAlertVars>, { ok: true }>["value"];

/** The alert settings; without ALERT_SIGNING_SECRET, the forwards' secrets sign alerts. */
export function readAlertConfig(env: object): ConfigResult<AlertConfig> {
	const own = readAlertVars(env);
	if (!own.ok || own.value.signingSecrets.length > 0) return own;
	const forward = readForwardConfig(env);
	return { ok: true, value: { ...own.value, signingSecrets: forward.ok ? forward.value.signingSecrets : [] } };
}

/**
 * Every invalid setting, one message per concern that has one (the messages name variables, never
 * their values' secrets): for /health and the log, where an operator looks first.
 */
export function configProblems(env: object): string[] {
	// readDestinations says FORWARD_*'s problems too, and DESTINATIONS's and its secrets'.
	const problems = [
		readIngestConfig,
		readLedgerConfig,
		readDestinations,
		readRetentionConfig,
		readAdminConfig,
		readAlertConfig,
		readDeliverabilityConfig,
	].flatMap((read) => {
		const result = read(env);
		return result.ok ? [] : [result.message];
	});
	const forward = readForwardConfig(env);
	const retention = readRetentionConfig(env);
	if (forward.ok && retention.ok) {
		const spanDays = scheduleSpanDays(forward.value.retryScheduleSeconds);
		if (retention.value.retentionDays < spanDays + 1) {
			problems.push(
				`RETENTION_DAYS (${retention.value.retentionDays}) must exceed FORWARD_RETRY_SCHEDULE's span (${spanDays.toFixed(1)} days with jitter) by a day, or an event still retrying is purged before it can be listed as dead or replayed`,
			);
		}
	}
	const alerts = readAlertConfig(env);
	if (
		alerts.ok &&
		alerts.value.url !== null &&
		alerts.value.format === "cloudevents" &&
		alerts.value.signingSecrets.length === 0
	) {
		problems.push(
			"ALERT_URL is set but neither ALERT_SIGNING_SECRET nor FORWARD_SIGNING_SECRET is: alerts are signed like forwards",
		);
	}
	return problems;
}
