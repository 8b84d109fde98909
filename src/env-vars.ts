import * as v from "valibot";

/*
 * How environment variables are read: they arrive as strings (wrangler vars, secrets, .dev.vars),
 * and an empty string means unset, which is how wrangler.toml spells "no default". src/config.ts
 * holds the schemas built from these, one per concern.
 */

export const unset = (value: unknown) => (value === "" ? undefined : value);
export const OptionalString = v.pipe(v.unknown(), v.transform(unset), v.optional(v.string()));

export function integerVar(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) {
	return v.pipe(
		v.unknown(),
		v.transform(unset),
		v.optional(v.string(), String(fallback)),
		v.string(),
		v.regex(/^\d+$/, `${name} must be a whole number`),
		v.transform(Number),
		v.minValue(min, `${name} must be at least ${min}`),
		v.maxValue(max, `${name} must be at most ${max}`),
	);
}

/** A fraction in (0, 1], e.g. "0.9". */
export function ratioVar(name: string, fallback: number) {
	const message = `${name} must be a number above 0 and at most 1, e.g. 0.9`;
	return v.pipe(
		v.unknown(),
		v.transform(unset),
		v.optional(v.string(), String(fallback)),
		v.string(),
		v.regex(/^(0?\.\d+|[01](\.\d*)?)$/, message),
		v.transform(Number),
		v.gtValue(0, message),
		v.maxValue(1, message),
	);
}

/** As integerVar, but unset is undefined rather than a default. */
export function optionalIntegerVar(name: string, min: number) {
	return v.pipe(
		v.unknown(),
		v.transform(unset),
		v.optional(
			v.pipe(
				v.string(),
				v.regex(/^\d+$/, `${name} must be a whole number`),
				v.transform(Number),
				v.minValue(min, `${name} must be at least ${min}`),
			),
		),
	);
}

export function listVar<const TOptions extends readonly string[]>(name: string, options: TOptions) {
	return v.pipe(
		v.unknown(),
		v.transform(unset),
		v.optional(v.string(), ""),
		v.string(),
		v.transform((value) =>
			value
				.split(",")
				.map((item) => item.trim())
				.filter((item) => item !== ""),
		),
		v.array(v.picklist(options, `${name} accepts only: ${options.join(", ")}`)),
	);
}

const SIGNING_SECRET = /^whsec_[A-Za-z0-9+/]+={0,2}$/;
/** The Standard Webhooks spec asks for 24 to 64 bytes; Svix's own secrets are 24. */
const MIN_SIGNING_KEY_BYTES = 24;

/**
 * Decoded here, once, rather than by the first forward: a key atob cannot read, or one too short
 * to be a real HMAC key, is a configuration error named in the log and /health instead of every
 * event failing as a "network error" retried for a day. The string is kept; src/forward/webhook-request.ts
 * imports the key.
 */
function signingSecret(name: string) {
	return v.pipe(
		v.string(),
		v.regex(SIGNING_SECRET, `${name} entries must look like whsec_<base64>`),
		v.rawTransform(({ dataset, addIssue, NEVER }) => {
			let bytes: number;
			try {
				bytes = atob(dataset.value.slice("whsec_".length)).length;
			} catch {
				addIssue({ message: `${name}: an entry's key is not valid base64` });
				return NEVER;
			}
			if (bytes < MIN_SIGNING_KEY_BYTES) {
				addIssue({
					message: `${name}: an entry's key is ${bytes} bytes; at least ${MIN_SIGNING_KEY_BYTES} are needed (whsec_ + base64 of 32 random bytes)`,
				});
				return NEVER;
			}
			return dataset.value;
		}),
	);
}

/** Space-separated whsec_ secrets; several sign with each (rotation). */
export function signingSecretsVar(name: string) {
	return v.pipe(
		OptionalString,
		v.optional(v.string(), ""),
		v.string(),
		v.transform((value) => value.split(/\s+/).filter((secret) => secret !== "")),
		v.array(signingSecret(name)),
	);
}

/**
 * A variable holding JSON: a string is parsed, or an issue names the variable; any other value (a
 * TOML table or array from wrangler.toml [vars]) is taken as it is.
 */
export function jsonText<TInput = unknown>(name: string) {
	return v.rawTransform<TInput, unknown>(({ dataset, addIssue, NEVER }) => {
		if (typeof dataset.value !== "string") return dataset.value;
		try {
			return JSON.parse(dataset.value) as unknown;
		} catch {
			addIssue({ message: `${name} is not valid JSON` });
			return NEVER;
		}
	});
}

/**
 * Checks each entry of a list variable on its own, so that a message names the entry and the
 * field: `NAME[1] ("label").field[0]: …`, the label (when `labelOf` gives one) saying which entry.
 */
export function eachEntry<TEntry extends v.GenericSchema>(
	name: string,
	entry: TEntry,
	labelOf: (value: unknown) => string = () => "",
) {
	return v.rawTransform<unknown[], Array<v.InferOutput<TEntry>>>(({ dataset, addIssue, NEVER }) => {
		const entries: Array<v.InferOutput<TEntry>> = [];
		for (const [index, value] of dataset.value.entries()) {
			const parsed = v.safeParse(entry, value);
			if (parsed.success) entries.push(parsed.output);
			for (const issue of parsed.issues ?? []) {
				const field = (issue.path ?? []).map((item) =>
					typeof item.key === "number" ? `[${item.key}]` : `.${String(item.key)}`,
				);
				addIssue({ message: `${name}[${index}]${labelOf(value)}${field.join("")}: ${issue.message}` });
			}
		}
		return entries.length === dataset.value.length ? entries : NEVER;
	});
}

export type ConfigResult<T> = { ok: true; value: T } | { ok: false; message: string };

type EnvSchema = v.ObjectSchema<v.ObjectEntries, undefined>;

export function reader<TSchema extends EnvSchema, TValue>(
	schema: TSchema,
	shape: (parsed: v.InferOutput<TSchema>) => TValue,
) {
	const keys = Object.keys(schema.entries);
	// The env object is the same for every request an isolate serves; parse it once.
	const cache = new WeakMap<object, ConfigResult<TValue>>();
	return (env: object): ConfigResult<TValue> => {
		let result = cache.get(env);
		if (result === undefined) {
			const vars = env as Record<string, unknown>;
			const input = Object.fromEntries(keys.map((key) => [key, vars[key] ?? ""]));
			const parsed = v.safeParse(schema, input);
			result = parsed.success
				? { ok: true, value: shape(parsed.output) }
				: { ok: false, message: parsed.issues.map((issue) => issue.message).join("; ") };
			cache.set(env, result);
		}
		return result;
	};
}
