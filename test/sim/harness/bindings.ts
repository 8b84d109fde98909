import type { FaultDecider, FaultKind, FaultRule } from "./fault-plan";

/*
 * Faults and call counts at the bindings' own prototypes. The Worker, its Durable Objects and the
 * test share one isolate and one set of binding classes (D1Database, D1PreparedStatement,
 * WorkerQueue, R2Bucket, DurableObjectNamespace, the Analytics Engine dataset) and one global
 * fetch: patching them reaches every call the relay makes, in the Worker and inside every Durable
 * Object, and no code path can go around it. Nothing in src/ changes; production pays nothing.
 *
 * What this layer counts is the independent side of the "no unmetered path" invariant: the meter
 * (src/meter) counts the calls its own wrappers see, and the two must agree.
 *
 * The harness itself reads and writes through `raw`, the saved originals, so its own calls are
 * neither faulted nor counted as the relay's.
 */

type AnyFunction = (...args: unknown[]) => unknown;
type Proto = Record<string, unknown>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface HeldMessage {
	due: number;
	queue: object;
	body: unknown;
	contentType: QueueContentType | undefined;
}

/** Queue messages sent with a delay: Queues would hold them in real time; the simulation holds them in virtual time. */
export class DelayLine {
	readonly held: HeldMessage[] = [];

	constructor(private readonly send: (queue: object, body: unknown, contentType?: QueueContentType) => Promise<void>) {}

	hold(message: HeldMessage): void {
		this.held.push(message);
	}

	nextDue(): number {
		return this.held.reduce((min, message) => Math.min(min, message.due), Number.POSITIVE_INFINITY);
	}

	/** Sends every message due by `now`; answers how many. */
	async release(now: number): Promise<number> {
		const due = this.held.filter((message) => message.due <= now);
		if (due.length === 0) return 0;
		for (const message of due) this.held.splice(this.held.indexOf(message), 1);
		for (const message of due) await this.send(message.queue, message.body, message.contentType);
		return due.length;
	}
}

/** Messages of each queue not yet settled by a consumer (acked, or moved to the dead-letter queue). */
export class QueueTracker {
	outstanding = new Map<string, number>();

	add(queue: string, count: number): void {
		this.outstanding.set(queue, (this.outstanding.get(queue) ?? 0) + count);
	}

	get total(): number {
		return [...this.outstanding.values()].reduce((sum, count) => sum + count, 0);
	}
}

export interface Injection {
	/** Calls the relay made, per target (faulted ones included). */
	calls: Map<string, number>;
	/** Calls that reached the binding (not failed before it). */
	reached: Map<string, number>;
	/** Binding calls and fetches running now. */
	readonly inFlight: number;
	/** Their targets, for a run that ends with one still running. */
	readonly inFlightTargets: string[];
	delayLine: DelayLine;
	queues: QueueTracker;
	raw: RawAccess;
	uninstall(): void;
}

/** The originals, for the harness's own reads and writes. */
export interface RawAccess {
	fetch: typeof fetch;
	stub<T extends Rpc.DurableObjectBranded | undefined>(
		namespace: DurableObjectNamespace<T>,
		name: string,
	): DurableObjectStub<T>;
	stubOf<T extends Rpc.DurableObjectBranded | undefined>(
		namespace: DurableObjectNamespace<T>,
		id: DurableObjectId,
	): DurableObjectStub<T>;
	/** Runs a statement with the unpatched methods. */
	d1All<T>(db: D1Database, sql: string, ...params: unknown[]): Promise<T[]>;
	d1Run(db: D1Database, sql: string, ...params: unknown[]): Promise<void>;
	r2List(bucket: R2Bucket, options: R2ListOptions): Promise<R2Objects>;
	r2Get(bucket: R2Bucket, key: string): Promise<R2ObjectBody | null>;
	r2Put(bucket: R2Bucket, key: string, value: string): Promise<void>;
}

export interface InjectionOptions {
	env: Env;
	decider: FaultDecider;
	now: () => number;
	/** Which fetch target a URL is (fetch.destination, fetch.media, …). */
	classifyUrl: (url: URL) => string;
	/** The forward queue job's body after a delayed retry: its attempts carried, as the gate's holds do. */
	retriedBody: (body: unknown, attempts: number) => unknown;
	/** The Worker's handler object, whose queue() the runtime calls. */
	worker: { queue?: ExportedHandlerQueueHandler<Env> };
}

const SYNC_KINDS: ReadonlySet<FaultKind> = new Set(["throw"]);
const FETCH_KINDS: ReadonlySet<FaultKind> = new Set(["throw", "throwAfter", "hang", "slow", "status", "network"]);
const BINDING_KINDS: ReadonlySet<FaultKind> = new Set(["throw", "throwAfter", "hang", "slow"]);
/** Properties of a Durable Object stub that are not RPC methods. */
const STUB_PROPERTIES = new Set(["then", "id", "name", "fetch", "connect", "dup", "constructor", "toJSON"]);

const simError = (target: string, what: string) => new Error(`${what} (simulated fault at ${target})`);

function errorFor(target: string): Error {
	if (target.startsWith("d1.")) return simError(target, "D1_ERROR: Network connection lost");
	if (target.startsWith("queue.")) return simError(target, "Queue send failed: internal error");
	if (target.startsWith("r2.")) return simError(target, "R2 internal error");
	if (target.startsWith("do.")) return simError(target, "Durable Object reset because its code was updated");
	if (target.startsWith("ae.")) return simError(target, "Analytics Engine write failed");
	return simError(target, "internal error");
}

/** The R2 bucket a call is about, from its key or prefix: the archive's keys all start with events/. */
function r2Target(method: string, args: unknown[]): string {
	const first = args[0];
	let key = "";
	if (typeof first === "string") key = first;
	else if (Array.isArray(first)) key = String(first[0] ?? "");
	else if (typeof first === "object" && first !== null) key = String((first as { prefix?: string }).prefix ?? "");
	return `r2.${key.startsWith("events/") ? "archive" : "media"}.${method}`;
}

export function installInjection(options: InjectionOptions): Injection {
	const { env, decider } = options;
	const calls = new Map<string, number>();
	const reached = new Map<string, number>();
	let inFlight = 0;
	const running = new Map<string, number>();
	const enter = (target: string) => {
		inFlight += 1;
		running.set(target, (running.get(target) ?? 0) + 1);
	};
	const leave = (target: string) => {
		inFlight -= 1;
		running.set(target, (running.get(target) ?? 1) - 1);
	};
	const restores: Array<() => void> = [];
	const count = (target: string) => calls.set(target, (calls.get(target) ?? 0) + 1);
	const reach = (target: string) => reached.set(target, (reached.get(target) ?? 0) + 1);

	function patch(proto: Proto, name: string, replacement: (original: AnyFunction) => AnyFunction): AnyFunction {
		const original = proto[name] as AnyFunction;
		proto[name] = replacement(original);
		restores.push(() => {
			proto[name] = original;
		});
		return original;
	}

	/** A call of `target` with the plan's fault applied; `run` makes the real call. */
	async function guarded<T>(target: string, run: () => Promise<T>, kinds = BINDING_KINDS): Promise<T> {
		count(target);
		enter(target);
		try {
			const rule = decider.decide(target, kinds);
			if (rule?.kind === "throw") throw errorFor(target);
			if (rule?.kind === "hang") {
				await sleep(rule.ms ?? 2000);
				throw simError(target, "timed out");
			}
			if (rule?.kind === "slow") await sleep(rule.ms ?? 500);
			reach(target);
			const result = await run();
			if (rule?.kind === "throwAfter") throw errorFor(target);
			return result;
		} finally {
			leave(target);
		}
	}

	function guardedSync<T>(target: string, run: () => T): T {
		count(target);
		if (decider.decide(target, SYNC_KINDS)) throw errorFor(target);
		reach(target);
		return run();
	}

	// D1: the database and its statements.
	const d1Proto = Object.getPrototypeOf(env.DB) as Proto;
	const statementProto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Proto;
	const d1Prepare = patch(
		d1Proto,
		"prepare",
		(original) =>
			function (this: unknown, ...args: unknown[]) {
				return guardedSync("d1.prepare", () => original.apply(this, args));
			},
	);
	const d1Batch = patch(
		d1Proto,
		"batch",
		(original) =>
			function (this: unknown, ...args: unknown[]) {
				return guarded("d1.batch", () => original.apply(this, args) as Promise<unknown>);
			},
	);
	patch(
		d1Proto,
		"exec",
		(original) =>
			function (this: unknown, ...args: unknown[]) {
				return guarded("d1.exec", () => original.apply(this, args) as Promise<unknown>);
			},
	);
	const statementBind = patch(
		statementProto,
		"bind",
		(original) =>
			function (this: unknown, ...args: unknown[]) {
				return guardedSync("d1.bind", () => original.apply(this, args));
			},
	);
	const statementMethods: Record<string, AnyFunction> = {};
	for (const method of ["run", "all", "first", "raw"]) {
		statementMethods[method] = patch(
			statementProto,
			method,
			(original) =>
				function (this: unknown, ...args: unknown[]) {
					return guarded(`d1.${method}`, () => original.apply(this, args) as Promise<unknown>);
				},
		);
	}
	void d1Batch;

	// Queues: the producer, with delayed messages held in virtual time.
	const queueProto = Object.getPrototypeOf(env.FORWARD_QUEUE) as Proto;
	const queueNames = new WeakMap<object, string>([[env.FORWARD_QUEUE, "forward"]]);
	const queueName = (queue: object) => queueNames.get(queue) ?? "forward";
	const queueSend = patch(
		queueProto,
		"send",
		(original) =>
			function (this: object, ...args: unknown[]) {
				const [body, sendOptions] = args as [unknown, QueueSendOptions | undefined];
				return guarded("queue.send", async () => {
					const delay = sendOptions?.delaySeconds ?? 0;
					if (delay > 0) {
						delayLine.hold({
							due: options.now() + delay * 1000,
							queue: this,
							body,
							contentType: sendOptions?.contentType,
						});
						return;
					}
					await original.call(this, body, sendOptions);
					queues.add(queueName(this), 1);
				});
			},
	);
	patch(
		queueProto,
		"sendBatch",
		(original) =>
			function (this: object, ...args: unknown[]) {
				const [messages, batchOptions] = args as [Iterable<MessageSendRequest>, QueueSendBatchOptions | undefined];
				return guarded("queue.sendBatch", async () => {
					const now = [];
					for (const message of messages) {
						const delay = message.delaySeconds ?? batchOptions?.delaySeconds ?? 0;
						if (delay > 0) {
							delayLine.hold({
								due: options.now() + delay * 1000,
								queue: this,
								body: message.body,
								contentType: message.contentType,
							});
						} else now.push({ ...message, delaySeconds: 0 });
					}
					if (now.length > 0) {
						await original.call(this, now, { ...batchOptions, delaySeconds: 0 });
						queues.add(queueName(this), now.length);
					}
				});
			},
	);
	const delayLine = new DelayLine(async (queue, body, contentType) => {
		await (queueSend as (this: object, body: unknown, options?: QueueSendOptions) => Promise<void>).call(
			queue,
			body,
			contentType === undefined ? undefined : { contentType },
		);
		queues.add(queueName(queue), 1);
	});
	const queues = new QueueTracker();

	// The consumer: acks and retries are tracked, and a delayed retry waits in virtual time.
	const originalQueueHandler = options.worker.queue;
	if (originalQueueHandler !== undefined) {
		options.worker.queue = async (batch, handlerEnv, ctx) => {
			const name = batch.queue.endsWith("-dlq") ? "dlq" : "forward";
			if (name === "dlq") {
				// Queues moved these here after the forward consumer's last retry.
				queues.add("forward", -batch.messages.length);
				queues.add("dlq", batch.messages.length);
			}
			const decided = new Map<Message<unknown>, "ack" | "retry">();
			let all: "ack" | "retry" | null = null;
			const messages = batch.messages.map(
				(message): Message<unknown> => ({
					id: message.id,
					timestamp: message.timestamp,
					body: message.body,
					attempts: message.attempts,
					ack() {
						if (!decided.has(message)) decided.set(message, "ack");
						message.ack();
					},
					retry(retryOptions) {
						if (decided.has(message)) return;
						const delay = retryOptions?.delaySeconds ?? 0;
						if (delay > 0) {
							// The runtime would redeliver it after the delay with attempts + 1.
							decided.set(message, "ack");
							message.ack();
							delayLine.hold({
								due: options.now() + delay * 1000,
								queue: env.FORWARD_QUEUE,
								body: options.retriedBody(message.body, message.attempts),
								contentType: undefined,
							});
							return;
						}
						decided.set(message, "retry");
						message.retry(retryOptions);
					},
				}),
			);
			const wrapped: MessageBatch<unknown> = {
				queue: batch.queue,
				metadata: batch.metadata,
				messages,
				ackAll() {
					all ??= "ack";
					batch.ackAll();
				},
				retryAll(retryOptions) {
					all ??= "retry";
					batch.retryAll(retryOptions);
				},
			};
			let ok = true;
			try {
				await originalQueueHandler.call(options.worker, wrapped as MessageBatch<never>, handlerEnv, ctx);
			} catch (error) {
				ok = false;
				throw error;
			} finally {
				const settled = batch.messages.filter(
					(message) => (decided.get(message) ?? all ?? (ok ? "ack" : "retry")) === "ack",
				).length;
				queues.add(name, -settled);
			}
		};
		restores.push(() => {
			options.worker.queue = originalQueueHandler;
		});
	}

	// R2: both buckets share the class; the key tells them apart.
	const r2Proto = Object.getPrototypeOf(env.ARCHIVE) as Proto;
	const r2Originals: Record<string, AnyFunction> = {};
	for (const method of ["put", "get", "head", "list", "delete", "createMultipartUpload"]) {
		r2Originals[method] = patch(
			r2Proto,
			method,
			(original) =>
				function (this: unknown, ...args: unknown[]) {
					return guarded(r2Target(method, args), () => original.apply(this, args) as Promise<unknown>);
				},
		);
	}

	// Analytics Engine.
	if (env.METRICS !== undefined) {
		const aeProto = Object.getPrototypeOf(env.METRICS) as Proto;
		patch(
			aeProto,
			"writeDataPoint",
			(original) =>
				function (this: unknown, ...args: unknown[]) {
					return guardedSync("ae.writeDataPoint", () => original.apply(this, args));
				},
		);
	}

	// Durable Objects: every stub the relay gets is wrapped, so each RPC call can fail before or after.
	const namespaceProto = Object.getPrototypeOf(env.MESSAGE_LEDGER) as Proto;
	const wrapStub = (stub: object): object =>
		new Proxy(stub, {
			get(target, property) {
				const value = Reflect.get(target, property);
				if (typeof property !== "string" || STUB_PROPERTIES.has(property) || typeof value !== "function") return value;
				return (...args: unknown[]) =>
					guarded(`do.${property}`, () => Reflect.apply(value as AnyFunction, target, args) as Promise<unknown>);
			},
		});
	const namespaceGet = patch(
		namespaceProto,
		"get",
		(original) =>
			function (this: unknown, ...args: unknown[]) {
				return wrapStub(original.apply(this, args) as object);
			},
	);
	const namespaceGetByName = patch(
		namespaceProto,
		"getByName",
		(original) =>
			function (this: unknown, ...args: unknown[]) {
				return wrapStub(original.apply(this, args) as object);
			},
	);

	// Outbound fetch: destinations, alerts, the media host and its token endpoint.
	const originalFetch = globalThis.fetch;
	globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
		const url = new URL(input instanceof Request ? input.url : String(input));
		const target = options.classifyUrl(url);
		count(target);
		enter(target);
		try {
			const rule = decider.decide(target, FETCH_KINDS);
			if (rule?.kind === "network" || rule?.kind === "throw")
				throw new TypeError(`Network connection lost. (simulated fault at ${target})`);
			if (rule?.kind === "status") return new Response(null, { status: rule.status ?? 503 });
			if (rule?.kind === "hang") {
				const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
				await Promise.race([
					sleep(rule.ms ?? 3000),
					new Promise((resolve) => signal?.addEventListener("abort", resolve, { once: true })),
				]);
				if (signal?.aborted) throw signal.reason ?? new DOMException("The operation was aborted", "AbortError");
				throw new TypeError(`Network connection lost. (simulated hang at ${target})`);
			}
			if (rule?.kind === "slow") await sleep(rule.ms ?? 500);
			const response = await originalFetch(input, init);
			if (rule?.kind === "throwAfter") {
				await response.body?.cancel();
				throw new TypeError(`Network connection lost. (simulated fault after the answer at ${target})`);
			}
			return response;
		} finally {
			leave(target);
		}
	}) as typeof fetch;
	restores.push(() => {
		globalThis.fetch = originalFetch;
	});

	const raw: RawAccess = {
		fetch: originalFetch,
		stub: (namespace, name) => namespaceGetByName.call(namespace, name) as never,
		stubOf: (namespace, id) => namespaceGet.call(namespace, id) as never,
		async d1All<T>(db: D1Database, sql: string, ...params: unknown[]): Promise<T[]> {
			let statement = d1Prepare.call(db, sql);
			if (params.length > 0) statement = statementBind.apply(statement, params);
			const result = (await (statementMethods.all as AnyFunction).call(statement)) as D1Result<T>;
			return result.results;
		},
		async d1Run(db: D1Database, sql: string, ...params: unknown[]): Promise<void> {
			let statement = d1Prepare.call(db, sql);
			if (params.length > 0) statement = statementBind.apply(statement, params);
			await (statementMethods.run as AnyFunction).call(statement);
		},
		r2List: (bucket, listOptions) => (r2Originals.list as AnyFunction).call(bucket, listOptions) as Promise<R2Objects>,
		r2Get: (bucket, key) => (r2Originals.get as AnyFunction).call(bucket, key) as Promise<R2ObjectBody | null>,
		async r2Put(bucket, key, value) {
			await (r2Originals.put as AnyFunction).call(bucket, key, value);
		},
	};
	// The stubs the harness gets from its own env must not be wrapped either.
	void namespaceGet;

	return {
		calls,
		reached,
		get inFlight() {
			return inFlight;
		},
		get inFlightTargets() {
			return [...running].flatMap(([target, n]) => (n > 0 ? [`${target}×${n}`] : []));
		},
		delayLine,
		queues,
		raw,
		uninstall() {
			for (const restore of restores.reverse()) restore();
		},
	};
}

export type { FaultRule };
