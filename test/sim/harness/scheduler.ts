import {
	createExecutionContext,
	createScheduledController,
	listDurableObjectIds,
	runDurableObjectAlarm,
	runInDurableObject,
	waitOnExecutionContext,
} from "cloudflare:test";
import { meter } from "../../../src/meter/meter";
import type { Injection } from "./bindings";
import { realNow, type VirtualClock } from "./virtual-clock";

/*
 * What the platform does on its own clock, done on the virtual one: Durable Object alarms (set at
 * virtual times the runtime never reaches), the cron, and messages Queues would hold back for a
 * delay. `advance` walks virtual time forward stopping at each of them in order, and `settle` waits
 * until the relay has nothing running: no binding call or fetch in flight, no queue message
 * unsettled, nothing due, and the meter still.
 */

type Proto = Record<string, unknown>;

/** A seed that ran past its real-time budget: the relay kept something running that never ended. */
export class SeedOutOfTime extends Error {}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface SchedulerOptions {
	env: Env;
	clock: VirtualClock;
	injection: Injection;
	worker: ExportedHandler<Env>;
	/** Virtual time between two cron runs while advancing (production: every minute). */
	cronEveryMs: number;
}

export class Scheduler {
	readonly #options: SchedulerOptions;
	/** The earliest alarm each object's storage set since it was last looked at. */
	readonly #pending = new Map<object, number>();
	/** Each storage seen, and the stub of its object. */
	readonly #stubs = new WeakMap<object, DurableObjectStub>();
	#lastCron = Number.NEGATIVE_INFINITY;
	#restore: (() => void) | null = null;
	alarmsRun = 0;
	stops = 0;
	scanned = 0;
	due = 0;
	/** Real milliseconds spent, by what: for tuning the simulation's speed. */
	readonly timing: Record<string, number> = { alarms: 0, cron: 0, settle: 0, release: 0 };
	cronRuns = 0;
	cronFailures = 0;
	/** Settles that hit their limit with work still running (a hang the relay did not bound). */
	unsettled = 0;
	/** Real time by which the seed must be done; past it every wait gives up at once. */
	deadline = Number.POSITIVE_INFINITY;
	readonly unsettledWhy: string[] = [];

	constructor(options: SchedulerOptions) {
		this.#options = options;
	}

	/** Watches setAlarm, so the scheduler knows when, and in which object, an alarm may be due. */
	async install(): Promise<void> {
		const { env, injection } = this.#options;
		const storageProto = (await runInDurableObject(
			injection.raw.stub(env.ALERT_DESK, "sim-probe"),
			(_instance, state) => Object.getPrototypeOf(state.storage),
		)) as Proto;
		const original = storageProto.setAlarm as (this: object, at: number | Date, ...rest: unknown[]) => Promise<void>;
		const pending = this.#pending;
		storageProto.setAlarm = function (this: object, at: number | Date, ...rest: unknown[]) {
			const time = typeof at === "number" ? at : at.getTime();
			pending.set(this, Math.min(pending.get(this) ?? Number.POSITIVE_INFINITY, time));
			return original.call(this, at, ...rest);
		};
		this.#restore = () => {
			storageProto.setAlarm = original;
		};
	}

	uninstall(): void {
		this.#restore?.();
	}

	#namespaces(): DurableObjectNamespace[] {
		const { env } = this.#options;
		return [env.MESSAGE_LEDGER, env.DESTINATION_GATE, env.MEDIA_COPIER, env.ALERT_DESK] as DurableObjectNamespace[];
	}

	/** The earliest alarm set and not yet looked at, or Infinity. */
	nextAlarm(): number {
		let min = Number.POSITIVE_INFINITY;
		for (const at of this.#pending.values()) min = Math.min(min, at);
		return min;
	}

	/** Runs the object's alarm if it is due; remembers which object a storage belongs to. */
	async #runIfDue(stub: DurableObjectStub): Promise<boolean> {
		this.scanned += 1;
		const { at, storage } = await runInDurableObject(stub, async (_instance, state) => {
			this.#stubs.set(state.storage, stub);
			return { at: await state.storage.getAlarm(), storage: state.storage };
		});
		if (at === null) return false;
		if (at > this.#options.clock.now()) {
			// Watched under an earlier time than the one set since (setAlarm keeps the earliest it saw):
			// watch the real one, or this alarm would never run (seed 3099: a ledger's outbox stalled).
			this.#pending.set(storage, Math.min(this.#pending.get(storage) ?? Number.POSITIVE_INFINITY, at));
			return false;
		}
		this.due += 1;
		return runDurableObjectAlarm(stub);
	}

	/** Runs every alarm due by virtual now; answers how many ran. */
	async runDueAlarms(): Promise<number> {
		const now = this.#options.clock.now();
		const due = [...this.#pending].filter(([, at]) => at <= now).map(([storage]) => storage);
		if (due.length === 0) return 0;
		for (const storage of due) this.#pending.delete(storage);
		let ran = 0;
		const known = due.map((storage) => this.#stubs.get(storage));
		if (known.every((stub) => stub !== undefined)) {
			for (const stub of new Set(known)) if (stub !== undefined && (await this.#runIfDue(stub))) ran += 1;
		} else {
			// An object not seen yet (new, or a new instance after an eviction): look at them all once.
			const { raw } = this.#options.injection;
			for (const namespace of this.#namespaces()) {
				const ids = await listDurableObjectIds(namespace);
				const results = await Promise.all(ids.map((id) => this.#runIfDue(raw.stubOf(namespace, id))));
				ran += results.filter(Boolean).length;
			}
		}
		this.alarmsRun += ran;
		return ran;
	}

	/** One run of the Worker's cron at virtual now. A run that throws is what the platform logs; the next one comes anyway. */
	async cron(): Promise<void> {
		const { worker, env, clock } = this.#options;
		const controller = createScheduledController({ scheduledTime: clock.now(), cron: "* * * * *" });
		const ctx = createExecutionContext();
		this.#lastCron = clock.now();
		this.cronRuns += 1;
		try {
			await worker.scheduled?.(controller, env, ctx);
		} catch {
			this.cronFailures += 1;
		}
		await waitOnExecutionContext(ctx).catch(() => undefined);
	}

	/**
	 * `work`, or SeedOutOfTime once the real deadline passes first, naming the calls in flight: a
	 * step whose request never answers (an erasure, a callback) is reported, not left to hang the
	 * test. The watch polls with its own timer and stops with the step.
	 */
	async withinDeadline<T>(work: Promise<T>): Promise<T> {
		const { injection } = this.#options;
		let done = false;
		const watch = async (): Promise<never> => {
			while (!done) {
				await sleep(250);
				if (!done && realNow() > this.deadline)
					throw new SeedOutOfTime(
						`a step never answered: inFlight ${injection.inFlight} (${injection.inFlightTargets.join(", ")})`,
					);
			}
			return new Promise<never>(() => undefined);
		};
		try {
			return await Promise.race([work, watch()]);
		} finally {
			done = true;
		}
	}

	/**
	 * Waits until nothing runs (no call in flight, no message queued, the meter unchanged for four
	 * polls 5 ms apart); false if `limitMs` (real) passed first. Alarms and held messages
	 * that come due meanwhile wait for the next stop of `advance`: a retry on a backoff would
	 * otherwise keep the relay busy for as long as the backoff keeps coming due.
	 */
	async settle(limitMs = 15_000): Promise<boolean> {
		const { injection } = this.#options;
		const started = realNow();
		let quiet = 0;
		let last = "";
		while (realNow() - started < limitMs) {
			if (realNow() > this.deadline)
				throw new SeedOutOfTime(
					`inFlight ${injection.inFlight} (${injection.inFlightTargets.join(", ")}), queued ${injection.queues.total}`,
				);
			await sleep(5);
			const busy = injection.inFlight > 0 || injection.queues.total > 0;
			const reading = JSON.stringify(meter.snapshot());
			quiet = !busy && reading === last ? quiet + 1 : 0;
			last = reading;
			if (quiet >= 4) return true;
		}
		this.unsettled += 1;
		this.unsettledWhy.push(`inFlight ${injection.inFlight}, queued ${injection.queues.total}`);
		return false;
	}

	/**
	 * Moves virtual time forward by `ms`, stopping at every due alarm, held message and cron
	 * point on the way, in order, and settling at each stop.
	 */
	async advance(ms: number, options: { cronEveryMs?: number; maxStops?: number } = {}): Promise<void> {
		const { clock, injection } = this.#options;
		const cronEvery = options.cronEveryMs ?? this.#options.cronEveryMs;
		const end = clock.now() + ms;
		for (let stops = 0; clock.now() < end && stops < (options.maxStops ?? 400); stops += 1) {
			if (realNow() > this.deadline) throw new SeedOutOfTime("advancing");
			const nextCron = Math.max(this.#lastCron + cronEvery, clock.now());
			const next = Math.min(end, injection.delayLine.nextDue(), this.nextAlarm(), nextCron);
			clock.advanceTo(Math.max(next, clock.now() + 1));
			this.stops += 1;
			let mark = realNow();
			const lap = (what: string) => {
				const now = realNow();
				this.timing[what] = (this.timing[what] ?? 0) + now - mark;
				mark = now;
			};
			await injection.delayLine.release(clock.now());
			lap("release");
			await this.runDueAlarms();
			lap("alarms");
			if (clock.now() >= nextCron) await this.cron();
			lap("cron");
			await this.settle();
			lap("settle");
		}
		clock.advanceTo(end);
	}
}
