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
	/** Alarm times the relay set, conservatively: a scan runs only when one is due. */
	readonly #alarmTimes: number[] = [];
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

	constructor(options: SchedulerOptions) {
		this.#options = options;
	}

	/** Watches setAlarm, so the scheduler knows when to look for due alarms. */
	async install(): Promise<void> {
		const { env, injection } = this.#options;
		const storageProto = (await runInDurableObject(
			injection.raw.stub(env.ALERT_DESK, "sim-probe"),
			(_instance, state) => Object.getPrototypeOf(state.storage),
		)) as Proto;
		const original = storageProto.setAlarm as (this: unknown, at: number | Date, ...rest: unknown[]) => Promise<void>;
		const times = this.#alarmTimes;
		storageProto.setAlarm = function (this: unknown, at: number | Date, ...rest: unknown[]) {
			times.push(typeof at === "number" ? at : at.getTime());
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

	/** The earliest recorded alarm still ahead, or Infinity. */
	nextAlarm(): number {
		return this.#alarmTimes.reduce((min, at) => Math.min(min, at), Number.POSITIVE_INFINITY);
	}

	/** Runs every alarm due by virtual now; answers how many ran. */
	async runDueAlarms(): Promise<number> {
		const now = this.#options.clock.now();
		if (!this.#alarmTimes.some((at) => at <= now)) return 0;
		// In place: the setAlarm patch holds this array.
		const later = this.#alarmTimes.filter((at) => at > now);
		this.#alarmTimes.splice(0, this.#alarmTimes.length, ...later);
		const { raw } = this.#options.injection;
		let ran = 0;
		for (const namespace of this.#namespaces()) {
			const ids = await listDurableObjectIds(namespace);
			await Promise.all(
				ids.map(async (id) => {
					const stub = raw.stubOf(namespace, id);
					const at = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
					this.scanned += 1;
					if (at === null || at > this.#options.clock.now()) return;
					this.due += 1;
					if (await runDurableObjectAlarm(stub)) ran += 1;
				}),
			);
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

	/** Waits until nothing runs; false if `limitMs` (real) passed first. */
	async settle(limitMs = 30_000): Promise<boolean> {
		const { injection, clock } = this.#options;
		const started = realNow();
		let quiet = 0;
		let last = "";
		while (realNow() - started < limitMs) {
			await sleep(10);
			const released = await injection.delayLine.release(clock.now());
			const alarms = await this.runDueAlarms();
			const busy = injection.inFlight > 0 || injection.queues.total > 0 || released > 0 || alarms > 0;
			const reading = JSON.stringify(meter.snapshot());
			quiet = !busy && reading === last ? quiet + 1 : 0;
			last = reading;
			if (quiet >= 3) return true;
		}
		this.unsettled += 1;
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
