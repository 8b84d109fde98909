import { meteredAnalytics } from "./metered-analytics";
import { meteredD1 } from "./metered-d1";
import { meteredQueue } from "./metered-queue";
import { meteredR2 } from "./metered-r2";

/*
 * The env every handler and Durable Object works with: the same bindings, with D1, Queues, R2 and
 * Analytics Engine counting what they are billed for. Bindings are recognised by their methods, so any Worker
 * (the relay, the bench's job floor) can be metered without naming its bindings. Durable Object
 * namespaces pass unchanged: each object counts its own requests and rows.
 */

const has = (value: object, ...methods: string[]) =>
	methods.every((method) => typeof (value as Record<string, unknown>)[method] === "function");

function metered(name: string, value: unknown): unknown {
	if (typeof value !== "object" || value === null) return value;
	// A service binding's RPC stub answers any method name; it is none of the kinds below.
	if (has(value, "fetch", "connect")) return value;
	if (has(value, "prepare", "batch", "exec")) return meteredD1(value as D1Database, name);
	if (has(value, "send", "sendBatch")) return meteredQueue(value as Queue);
	if (has(value, "head", "put", "createMultipartUpload")) return meteredR2(value as R2Bucket);
	if (has(value, "writeDataPoint")) return meteredAnalytics(value as AnalyticsEngineDataset);
	return value;
}

/** One metered env per runtime env, so per-env caches (the config readers) keep working. */
const cache = new WeakMap<object, object>();
/** Envs made here: metering one again would count every unit twice. */
const made = new WeakSet<object>();

export function meteredEnv<TEnv extends object>(env: TEnv): TEnv {
	if (made.has(env)) return env;
	let wrapped = cache.get(env);
	if (wrapped === undefined) {
		wrapped = Object.fromEntries(Object.entries(env).map(([name, value]) => [name, metered(name, value)]));
		cache.set(env, wrapped);
		made.add(wrapped);
	}
	return wrapped as TEnv;
}
