import * as v from "valibot";
import { type ForwardConfig, readForwardConfig } from "../config";
import { type ConfigResult, signingSecretsVar } from "../env-vars";
import { type DestinationSettings, DestinationsSchema, secretNameOf } from "./destination-schema";

/** What FORWARD_URL and its companions are: one destination, so existing deployments need no change. */
export const DEFAULT_DESTINATION = "default";

export interface Destination {
	name: string;
	url: string;
	/** DESTINATION_<NAME>_SIGNING_SECRET, or FORWARD_SIGNING_SECRET when that is unset. */
	signingSecrets: readonly string[];
	/** Its own name for the secret, for messages. */
	secretName: string;
	timeoutMs: number;
	/** Null: any value. */
	applicationIds: ReadonlySet<string> | null;
	owners: ReadonlySet<string> | null;
	types: ReadonlySet<string> | null;
	directions: ReadonlySet<string> | null;
	maxPerSecond: number | null;
	maxConcurrency: number | null;
}

export interface Destinations {
	list: readonly Destination[];
	byName: ReadonlyMap<string, Destination>;
	/** The retry schedule, shared: FORWARD_RETRY_SCHEDULE. */
	forward: ForwardConfig;
}

const setOf = (values: readonly string[] | undefined) => (values === undefined ? null : new Set(values));

function fromForwardVars(forward: ForwardConfig): Destination | null {
	if (forward.url === null) return null;
	const bothWays = forward.directions.has("inbound") && forward.directions.has("outbound");
	return {
		name: DEFAULT_DESTINATION,
		url: forward.url,
		signingSecrets: forward.signingSecrets,
		secretName: "FORWARD_SIGNING_SECRET",
		timeoutMs: forward.timeoutMs,
		applicationIds: null,
		owners: null,
		types: forward.eventTypes.size > 0 ? forward.eventTypes : null,
		directions: forward.directions.size === 0 || bothWays ? null : forward.directions,
		maxPerSecond: null,
		maxConcurrency: null,
	};
}

function fromSettings(
	settings: DestinationSettings,
	forward: ForwardConfig,
	env: Record<string, unknown>,
): ConfigResult<Destination> {
	const secretName = secretNameOf(settings.name);
	const secrets = v.safeParse(signingSecretsVar(secretName), env[secretName] ?? "");
	if (!secrets.success) return { ok: false, message: secrets.issues.map((issue) => issue.message).join("; ") };
	return {
		ok: true,
		value: {
			name: settings.name,
			url: settings.url,
			signingSecrets: secrets.output.length > 0 ? secrets.output : forward.signingSecrets,
			secretName,
			timeoutMs: settings.timeoutMs ?? forward.timeoutMs,
			applicationIds: setOf(settings.applicationIds),
			owners: setOf(settings.owners),
			types: setOf(settings.types),
			directions: setOf(settings.directions),
			maxPerSecond: settings.maxPerSecond ?? null,
			maxConcurrency: settings.maxConcurrency ?? null,
		},
	};
}

function parse(env: Record<string, unknown>): ConfigResult<Destinations> {
	const forward = readForwardConfig(env);
	if (!forward.ok) return forward;
	const list: Destination[] = [];
	const fallback = fromForwardVars(forward.value);
	if (fallback !== null) list.push(fallback);
	const raw = env.DESTINATIONS;
	if (raw !== undefined && raw !== "") {
		const parsed = v.safeParse(DestinationsSchema, raw);
		if (!parsed.success) return { ok: false, message: parsed.issues.map((issue) => issue.message).join("; ") };
		for (const settings of parsed.output) {
			if (settings.name === DEFAULT_DESTINATION && fallback !== null) {
				return {
					ok: false,
					message: `DESTINATIONS names "${DEFAULT_DESTINATION}", which FORWARD_URL already is: unset FORWARD_URL or rename the entry`,
				};
			}
			const destination = fromSettings(settings, forward.value, env);
			if (!destination.ok) return destination;
			list.push(destination.value);
		}
	}
	return { ok: true, value: { list, byName: new Map(list.map((d) => [d.name, d])), forward: forward.value } };
}

const cache = new WeakMap<object, ConfigResult<Destinations>>();

/** FORWARD_URL (as "default") and DESTINATIONS, checked; parsed once per env object. */
export function readDestinations(env: object): ConfigResult<Destinations> {
	let result = cache.get(env);
	if (result === undefined) {
		result = parse(env as Record<string, unknown>);
		cache.set(env, result);
	}
	return result;
}
