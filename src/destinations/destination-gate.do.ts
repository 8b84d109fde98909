import { DurableObject } from "cloudflare:workers";
import { errorMessage, log } from "../log";
import { meter } from "../meter/meter";
import { meteredEnv } from "../meter/metered-env";
import { MeteredStorage } from "../meter/metered-storage";
import { applyReport, decide, nextLook, probeDue } from "./gate-decision";
import { PARKED_MAX_JOBS } from "./gate-policy";
import { releaseParked, releaseProbe, releaseRetryMs } from "./gate-release";
import type {
	Admission,
	AdmitRequest,
	AttemptReport,
	GateStatus,
	ParkRequest,
	ReportAnswer,
	Whereabouts,
} from "./gate-rpc";
import { countHour, type GateState, hourly, initialState, summarize, thisMinute } from "./gate-state";
import { HELD_SCHEMA, HeldRows } from "./held-rows";
import { PARKED_SCHEMA, ParkedJobs } from "./parked-jobs";
import { readDestinations } from "./read-destinations";

/** One statement each: the meter counts each cursor's rows. */
const SCHEMA = [
	"CREATE TABLE IF NOT EXISTS gate (k INTEGER PRIMARY KEY CHECK (k = 1), state TEXT NOT NULL)",
	HELD_SCHEMA,
	PARKED_SCHEMA,
];

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * One per destination (keyed by its name): the rate limit, the concurrency limit, the circuit
 * breaker and the operator's pause, which every consumer invocation asks before it posts. It is
 * asked once per batch, not per event, and it only ever holds events back, so a consumer that
 * cannot reach it posts anyway (src/destinations/gate-client.ts). Jobs a pause or an open breaker
 * holds are parked here and sent back to the queue by its alarm: at once on a resume or when a
 * probe closes the breaker, one at a time as the breaker's probes.
 */
export class DestinationGate extends DurableObject<Env> {
	/** Every statement through the cost meter (one statement a call, so each cursor's rows are its own). */
	#storage: MeteredStorage;
	/** Read from its row at each call: one row read, and the row is the only truth. */
	#state: GateState = initialState();
	/** Concurrency leases: admitted attempts not yet reported, with when they stop counting. */
	#leases = new Map<string, { count: number; until: number }>();
	#held: HeldRows;
	#parked: ParkedJobs;
	#alarmAt: number | null | undefined = undefined;

	constructor(ctx: DurableObjectState, env: Env) {
		// Its queue sends are counted like the Worker's (src/meter).
		super(ctx, meteredEnv(env));
		this.#storage = new MeteredStorage(ctx.storage);
		for (const statement of SCHEMA) this.#storage.run(statement);
		const exec = (query: string, ...bindings: SqlStorageValue[]) => this.#exec(query, ...bindings);
		this.#held = new HeldRows(exec);
		this.#parked = new ParkedJobs(exec);
	}

	#load(): GateState {
		const row = this.#exec("SELECT state FROM gate WHERE k = 1")[0] as { state: string } | undefined;
		this.#state = row === undefined ? initialState() : { ...initialState(), ...(JSON.parse(row.state) as GateState) };
		return this.#state;
	}

	#save(): void {
		this.#exec(
			"INSERT INTO gate (k, state) VALUES (1, ?) ON CONFLICT (k) DO UPDATE SET state = excluded.state",
			JSON.stringify(this.#state),
		);
	}

	#inFlight(now: number): number {
		let total = 0;
		for (const [id, lease] of this.#leases) {
			if (lease.until <= now) this.#leases.delete(id);
			else total += lease.count;
		}
		return total;
	}

	/**
	 * Nothing to hold back: a consumer may let events through without asking for a while. Events it
	 * held still come back through the gate (src/destinations/gate-client.ts), so their rows go.
	 */
	#clear(): boolean {
		const state = this.#state;
		return state.pausedBy === null && state.breaker === "closed" && state.consecutiveFailures === 0;
	}

	#exec(query: string, ...bindings: SqlStorageValue[]): Record<string, SqlStorageValue>[] {
		return this.#storage.all(query, ...bindings);
	}

	/** Its destination was removed from DESTINATIONS (a valid one): nobody will resume it. */
	#orphaned(): boolean {
		const name = this.#state.name;
		if (name === null) return false;
		const config = readDestinations(this.env);
		return config.ok && !config.value.byName.has(name);
	}

	/** Sets the alarm unless one is already due at or before `at` (a setAlarm is a billed row). */
	async #arm(now: number, at = nextLook(this.#state, now, this.#orphaned())): Promise<void> {
		if (at === null) return;
		if (this.#alarmAt === undefined) this.#alarmAt = await this.ctx.storage.getAlarm();
		if (this.#alarmAt !== null && this.#alarmAt <= at) return;
		await this.#storage.setAlarm(at);
		this.#alarmAt = at;
	}

	async admit(request: AdmitRequest): Promise<Admission> {
		meter.add("doRequests");
		this.#load();
		const now = Date.now();
		if (request.destination !== undefined) this.#state.name = request.destination;
		this.#state.maxPerSecond = request.maxPerSecond;
		const admission = decide(this.#state, request, now, () => this.#inFlight(now));
		const admitted = admission.startsAt.length;
		if (admitted > 0) {
			admission.lease = crypto.randomUUID();
			const lastStart = admission.startsAt.at(-1) ?? now;
			this.#leases.set(admission.lease, { count: admitted, until: Math.max(now, lastStart) + request.leaseMs });
			thisMinute(this.#state, now).admitted += admitted;
		}
		this.#held.release(request.ids.slice(0, admitted));
		// A pause's or a breaker's jobs are parked by the consumer (park), counted there.
		if (admission.reason === "rate" || admission.reason === "concurrency") {
			this.#held.hold(request.ids.slice(admitted), now, admission.reason);
		}
		this.#state.prunedAt = this.#held.prune(now, this.#state.prunedAt);
		this.#save();
		return { ...admission, clear: admission.reason === null && this.#clear() };
	}

	/**
	 * Keeps jobs a pause or an open breaker held back; the consumer acks them once this answers,
	 * that is once they are durable here. They go back to the queue when the gate lets events
	 * through again (the alarm).
	 */
	async park(request: ParkRequest): Promise<{ parked: number }> {
		meter.add("doRequests");
		const state = this.#load();
		const now = Date.now();
		state.name = request.destination;
		// Full: the consumer puts them back on the queue with a delay instead, as before parking.
		if (state.parkedJobs + request.jobs.length > PARKED_MAX_JOBS) return { parked: 0 };
		this.#parked.add(request.reason, request.jobs, now);
		state.parkedJobs += request.jobs.length;
		state.parkedSince ??= now;
		this.#save();
		// Parked after a resume or a closing probe that came between its admission and now: it goes back at once.
		await this.#arm(now);
		return { parked: request.jobs.length };
	}

	/** What the admitted attempts did; answers the breaker's transitions, for alerts. */
	async report(report: AttemptReport): Promise<ReportAnswer> {
		meter.add("doRequests");
		const now = Date.now();
		const state = this.#load();
		if (report.lease !== null) this.#leases.delete(report.lease);
		const counts = thisMinute(state, now);
		counts.admitted += report.admittedLocally ?? 0;
		counts.delivered += report.delivered;
		counts.failed += report.failed;
		countHour(state, now, report.delivered, report.failed);
		const transitions = applyReport(state, report, now);
		this.#save();
		// A closed breaker sends its parked jobs back now; a re-opened one probes again at its time.
		await this.#arm(now);
		return { transitions, clear: this.#clear() };
	}

	/** The operator's pause (true) or resume (false); `changed` when it was not already so. */
	async setPaused(paused: boolean): Promise<{ changed: boolean; status: GateStatus }> {
		meter.add("doRequests");
		const state = this.#load();
		const changed = (state.pausedBy !== null) !== paused;
		if (changed) {
			state.pausedBy = paused ? "operator" : null;
			state.pausedAt = paused ? Date.now() : null;
			this.#save();
			if (!paused) await this.#arm(Date.now());
		}
		return { changed, status: this.#status() };
	}

	/**
	 * The operator's "probe now" for an open breaker: its next probe is due at once, and the alarm
	 * sends a parked job as the probe (or the next event to arrive is one). `changed` is false when
	 * the breaker is closed: there is nothing to probe.
	 */
	async probe(): Promise<{ changed: boolean; status: GateStatus }> {
		meter.add("doRequests");
		const state = this.#load();
		if (state.breaker === "closed") return { changed: false, status: this.#status() };
		const now = Date.now();
		state.breaker = "open";
		state.probeAt = now;
		state.probeUntil = null;
		state.probeSentAt = null;
		this.#save();
		await this.#arm(now);
		return { changed: true, status: this.#status() };
	}

	/** Where each of these events waits here, if it does (the admin API's delivery state). */
	async whereabouts(ids: string[]): Promise<Whereabouts> {
		meter.add("doRequests");
		const state = this.#load();
		const found: Whereabouts["places"] = {};
		for (const [id, place] of this.#parked.locate(ids)) {
			found[id] = { reason: place.reason, since: new Date(place.since).toISOString() };
		}
		for (const [id, place] of this.#held.locate(ids)) {
			found[id] ??= { reason: place.reason, since: new Date(place.since).toISOString() };
		}
		return { places: found, nextProbeAt: state.breaker === "closed" ? null : iso(state.probeAt) };
	}

	/** Sends parked jobs back: all once events may go, one as a due probe, all if its destination was removed. */
	override async alarm(): Promise<void> {
		meter.add("doRequests");
		this.#alarmAt = null;
		const state = this.#load();
		const now = Date.now();
		const queue = this.env.FORWARD_QUEUE;
		state.prunedAt = this.#held.prune(now, state.prunedAt);
		try {
			if (this.#orphaned() || (state.pausedBy === null && state.breaker === "closed")) {
				const released = await releaseParked(queue, this.#parked, state, now);
				if (released.jobs > 0) log.info("gate_released", { destination: state.name, jobs: released.jobs });
				this.#save();
				await this.#arm(now, released.nextAt);
			} else if (state.pausedBy === null && probeDue(state, now)) {
				if (await releaseProbe(queue, this.#parked, state)) state.probeSentAt = now;
				this.#save();
				await this.#arm(now);
			} else {
				await this.#arm(now);
			}
		} catch (error) {
			state.releaseFailures += 1;
			this.#save();
			log.error("gate_release_failed", { destination: state.name, error: errorMessage(error) });
			await this.#arm(now, now + releaseRetryMs(state.releaseFailures)).catch(() => undefined);
		}
	}

	async status(): Promise<GateStatus> {
		meter.add("doRequests");
		this.#load();
		return this.#status();
	}

	#status(): GateStatus {
		const now = Date.now();
		const state = this.#state;
		const held = this.#held.tally();
		const since = [held.since, state.parkedSince].filter((at): at is number => at !== null);
		return {
			breaker: state.breaker,
			paused: state.pausedBy !== null,
			pausedBy: state.pausedBy,
			pausedAt: iso(state.pausedAt),
			consecutiveFailures: state.consecutiveFailures,
			nextProbeAt: state.breaker === "closed" ? null : iso(state.probeAt),
			lastSuccessAt: iso(state.lastSuccessAt),
			lastFailureAt: iso(state.lastFailureAt),
			lastError: state.lastError,
			backlog: held.held + state.parkedJobs,
			backlogSince: since.length === 0 ? null : iso(Math.min(...since)),
			recent: summarize(state, now),
			hourly: hourly(state, now),
		};
	}
}
