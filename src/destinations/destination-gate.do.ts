import { DurableObject } from "cloudflare:workers";
import { meter } from "../meter/meter";
import { MeteredStorage } from "../meter/metered-storage";
import { BREAKER_FAILURES, FAILING_AFTER, probeDelayMs, SLOT_HORIZON_MS } from "./gate-policy";
import type { Admission, AdmitRequest, AttemptReport, GateStatus, GateTransition, ReportAnswer } from "./gate-rpc";
import { type GateState, initialState, summarize, thisMinute } from "./gate-state";

const SCHEMA = [
	"CREATE TABLE IF NOT EXISTS gate (k INTEGER PRIMARY KEY CHECK (k = 1), state TEXT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS held (event_id TEXT PRIMARY KEY, since INTEGER NOT NULL) WITHOUT ROWID",
];

/** How long a held event waits when the gate cannot say better: a concurrency slot frees within a POST. */
const CONCURRENCY_HOLD_MS = 2_000;
const PRUNE_EVERY_MS = 60_000;
/** Longer than any hold but the rate limit's (pause: 15 min + 20 %; breaker: 10 min + 20 %). */
const HELD_FORGET_MS = 30 * 60_000;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * One per destination (keyed by its name): the rate limit, the concurrency limit, the circuit
 * breaker and the operator's pause, which every consumer invocation asks before it posts. It is
 * asked once per batch, not per event, and it only ever holds events back, so a consumer that
 * cannot reach it posts anyway (src/destinations/gate-client.ts).
 */
export class DestinationGate extends DurableObject<Env> {
	/** Every statement through the cost meter (one statement a call, so each cursor's rows are its own). */
	#storage: MeteredStorage;
	/** Read from its row at each call: one row read, and the row is the only truth. */
	#state: GateState = initialState();
	/** Concurrency leases: admitted attempts not yet reported, with when they stop counting. */
	#leases = new Map<string, { count: number; until: number }>();

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.#storage = new MeteredStorage(ctx.storage);
		for (const statement of SCHEMA) this.#storage.run(statement);
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

	/** `since`: the latest hold, so a row whose event went out without the gate ages away. */
	#hold(ids: readonly string[], now: number): void {
		for (const id of ids) {
			this.#exec(
				"INSERT INTO held (event_id, since) VALUES (?, ?) ON CONFLICT (event_id) DO UPDATE SET since = excluded.since",
				id,
				now,
			);
		}
	}

	/** A key lookup per id: nothing is scanned, however large the backlog. */
	#release(ids: readonly string[]): void {
		if (ids.length === 0) return;
		this.#exec("DELETE FROM held WHERE event_id IN (SELECT value FROM json_each(?))", JSON.stringify(ids));
	}

	/**
	 * Held rows not held again for HELD_FORGET_MS: their events went out some other way (a gate
	 * that timed out after writing, a destination removed and restored), or a rate-limited one is
	 * about to come back and be held again. At most once a minute, so it never runs per event.
	 */
	#prune(now: number): void {
		if (now - this.#state.prunedAt < PRUNE_EVERY_MS) return;
		this.#state.prunedAt = now;
		this.#exec("DELETE FROM held WHERE since < ?", now - HELD_FORGET_MS);
	}

	/** Only for status: a count reads every row. */
	#backlog(): number {
		return Number(this.#exec("SELECT count(*) AS n FROM held")[0]?.n ?? 0);
	}

	/** How many of this batch may start now (a probe is one), and when; the rest are held. */
	#decide(request: AdmitRequest, now: number): Admission {
		const state = this.#state;
		const none = (reason: Admission["reason"], holdMs: number): Admission => ({
			startsAt: [],
			holdMs,
			reason,
			lease: null,
			clear: false,
		});
		if (state.pausedBy !== null) return none("paused", 0);
		let allowed = request.ids.length;
		if (state.breaker !== "closed") {
			const probeAt = state.probeAt ?? now;
			const probing = state.probeUntil !== null && state.probeUntil > now;
			if (now < probeAt || probing)
				return none("breaker", Math.max(1_000, (probing ? (state.probeUntil ?? now) : probeAt) - now));
			allowed = 1;
		}
		let reason: Admission["reason"] = null;
		let holdMs = 0;
		if (request.maxConcurrency !== null) {
			const free = Math.max(0, request.maxConcurrency - this.#inFlight(now));
			if (free < allowed) {
				allowed = free;
				reason = "concurrency";
				holdMs = CONCURRENCY_HOLD_MS;
			}
		}
		const startsAt: number[] = [];
		const interval = request.maxPerSecond === null ? 0 : 1000 / request.maxPerSecond;
		for (let i = 0; i < allowed; i++) {
			const slot = Math.max(now, state.nextSlotAt);
			if (interval > 0 && slot - now > SLOT_HORIZON_MS) {
				reason = "rate";
				holdMs = slot - now;
				break;
			}
			startsAt.push(Math.round(slot));
			state.nextSlotAt = slot + interval;
		}
		// A due probe is half-open only once a start is handed out: a probe held by the limits is no probe.
		if (state.breaker !== "closed" && startsAt.length > 0) {
			state.breaker = "half-open";
			state.probeUntil = Math.max(now, startsAt[0] ?? now) + request.leaseMs;
			if (reason === null && startsAt.length < request.ids.length) {
				reason = "breaker";
				holdMs = probeDelayMs(state.opens);
			}
		}
		return { startsAt, holdMs, reason, lease: null, clear: false };
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

	async admit(request: AdmitRequest): Promise<Admission> {
		meter.add("doRequests");
		this.#load();
		const now = Date.now();
		const admission = this.#decide(request, now);
		const admitted = admission.startsAt.length;
		if (admitted > 0) {
			admission.lease = crypto.randomUUID();
			const lastStart = admission.startsAt.at(-1) ?? now;
			this.#leases.set(admission.lease, { count: admitted, until: Math.max(now, lastStart) + request.leaseMs });
			thisMinute(this.#state, now).admitted += admitted;
		}
		this.#release(request.ids.slice(0, admitted));
		this.#hold(request.ids.slice(admitted), now);
		this.#prune(now);
		this.#save();
		return { ...admission, clear: admission.reason === null && this.#clear() };
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
		const transitions: GateTransition[] = [];
		const troubled = state.breaker !== "closed" || state.consecutiveFailures >= FAILING_AFTER;
		if (report.failed > 0) {
			state.lastFailureAt = now;
			state.lastError = report.lastError;
		}
		if (report.delivered > 0) {
			state.lastSuccessAt = now;
			state.breaker = "closed";
			state.opens = 0;
			state.probeAt = null;
			state.probeUntil = null;
			// A report's order is unknown: its failures count as the latest, so a destination that
			// fails most of its attempts still trips the breaker whatever successes come with them.
			state.consecutiveFailures = report.failed;
			if (troubled && state.consecutiveFailures < FAILING_AFTER) transitions.push("recovered");
		} else {
			state.consecutiveFailures += report.failed;
		}
		if (report.failed > 0) {
			if (!troubled && state.consecutiveFailures >= FAILING_AFTER) transitions.push("failing");
			const tripped = state.breaker === "closed" && state.consecutiveFailures >= BREAKER_FAILURES;
			if (tripped || (state.breaker === "half-open" && report.delivered === 0)) {
				if (state.breaker === "closed") transitions.push("opened");
				state.breaker = "open";
				state.opens += 1;
				state.probeAt = now + probeDelayMs(state.opens);
				state.probeUntil = null;
			}
		}
		this.#save();
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
		}
		return { changed, status: this.#status() };
	}

	async status(): Promise<GateStatus> {
		meter.add("doRequests");
		this.#load();
		return this.#status();
	}

	#status(): GateStatus {
		const now = Date.now();
		const state = this.#state;
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
			backlog: this.#backlog(),
			recent: summarize(state, now),
		};
	}
}
