import { errorMessage, log } from "../log";
import { within } from "../within";
import { findInD1, type HandoffKey, handoffKeyOf } from "./handoff-check";
import { DAY_MS, hourOf, partitionOf } from "./partitions";
import type { DayTables } from "./store/day-tables";
import { COPIED, type CopyReport, type LedgerRow, type OutboxKey, reportKey } from "./store/ledger-rows";
import type { LedgerSql } from "./store/ledger-sql";
import type { Outbox } from "./store/outbox";

/**
 * A Worker may start copying a handoff out until this long after its own answer (its waitUntil
 * has ~30 s); the ledger looks at a handoff only after the grace. The gap keeps a slow Worker and
 * the ledger's own drain from both sending the same rows.
 */
export const HANDOFF_COPY_WINDOW_MS = 25_000;
export const HANDOFF_GRACE_MS = 60_000;
/** One check covers the handoffs of the next few seconds too: a busy bucket runs about one a minute. */
export const CHECK_SLACK_MS = 5_000;
/** A check D1 does not answer this fast is tried again later: the cron's visit must not hang on it. */
const CHECK_TIMEOUT_MS = 10_000;
/** The soonest a check D1 could not answer is tried again, whatever the backoff says. */
const CHECK_RETRY_MIN_MS = 1000;
/** Where a ledger notes that every row it accepted before this time (epoch ms) is accounted for. */
export const VERIFIED_THROUGH = "handoffs_verified_through";
/**
 * The watermark is written once it can move this far: a lower one is always safe (a new instance
 * only looks at more rows again), and a bucket then writes six rows an hour for it, not one a
 * check. It is also what D1 may evict by (verifiedBefore), so it lags real time by at most this.
 */
export const VERIFIED_STEP_MS = 10 * 60 * 1000;

/**
 * A row handed to a Worker and not accounted for yet. `inD1`: the Worker was to make both copies,
 * and stores in D1 only what it queued, so the row found in D1 is the Worker's report.
 */
type Handoff = HandoffKey & { acceptedAt: number; inD1: boolean };

/** The D1 target's backoff, shared with the outbox drain: a D1 refusing writes is not read either. */
export interface D1Gate {
	ready(now: number): boolean;
	failed(now: number): void;
	retryAt(): number;
}

export interface HandoffCheck {
	/** Rows moved to the outbox: nobody reported them and D1 does not hold them. */
	reclaimed: number;
	/** When the next check is due (Infinity: nothing outstanding). */
	nextAt: number;
}

const keyOf = (handoff: Pick<HandoffKey, "messageId" | "id">) => handoffKeyOf(handoff.messageId, handoff.id);
const dayStart = (time: number) => time - (time % DAY_MS);

/**
 * The handoffs of one ledger that nobody has accounted for: kept in memory, and accounted for
 * three ways — the Worker's report (on a failure only), the rows found in D1 by the check after
 * the grace (the common path: no row written), or moved to the outbox for both copies. A new
 * instance finds its predecessor's from the rows accepted since `VERIFIED_THROUGH`, a watermark
 * written at most once per VERIFIED_STEP_MS, never per event.
 *
 * A handoff found in D1 may leave D1 again (the byte budget) only once the watermark is past it:
 * a new instance that looked for it again and missed it would send it a second time.
 */
export class Handoffs {
	readonly #db: LedgerSql;
	readonly #days: DayTables;
	readonly #outbox: Outbox;
	readonly #ledger: string;
	#outstanding = new Map<string, Handoff>();
	#known = false;
	/** The watermark as stored; a new instance reads it back. */
	#through: number | null = null;
	/** A row was handed off since the stored watermark: a new instance would look at it again. */
	#sinceThrough = false;
	#running: Promise<HandoffCheck> | null = null;

	constructor(ledger: string, db: LedgerSql, parts: { days: DayTables; outbox: Outbox }) {
		this.#ledger = ledger;
		this.#db = db;
		this.#days = parts.days;
		this.#outbox = parts.outbox;
	}

	track(rows: readonly LedgerRow[], inD1: boolean, now: number): void {
		for (const row of rows) {
			const handoff = { ...reportKey(row), hour: row.hour, acceptedAt: now, inD1 };
			this.#outstanding.set(keyOf(handoff), handoff);
		}
		if (rows.length > 0) this.#sinceThrough = true;
	}

	/** A Worker reported on these rows: the outbox has what they still miss. */
	reported(reports: readonly CopyReport[]): void {
		for (const report of reports) this.#outstanding.delete(keyOf(report));
	}

	erased(messageIds: readonly string[]): void {
		for (const [key, handoff] of this.#outstanding) {
			if (messageIds.includes(handoff.messageId)) this.#outstanding.delete(key);
		}
	}

	/** The rows handed off and not yet accounted for: a Worker may be copying them to D1 right now. */
	keys(): OutboxKey[] {
		return [...this.#outstanding.values()].map(({ partition, messageId, id }) => ({
			partition,
			messageId,
			id,
			missing: COPIED.all,
		}));
	}

	/** When the oldest handoff still outstanding was accepted; Infinity for none. */
	oldest(): number {
		return Math.min(...[...this.#outstanding.values()].map((handoff) => handoff.acceptedAt));
	}

	/**
	 * Every handoff accepted before this is accounted for, durably: a new instance would not look
	 * for it in D1 again (it reads from the stored watermark), so D1 may evict it without it being
	 * sent twice. Before any watermark is stored, a new instance reads from yesterday on.
	 */
	verifiedBefore(now: number): number {
		this.#readBack(now);
		// Nothing handed off since the watermark: a new instance would find nothing to look for.
		if (!this.#sinceThrough) return Math.min(now, this.oldest());
		return Math.min(now, this.#through ?? dayStart(now - DAY_MS), this.oldest());
	}

	/** Accounts for the handoffs past the grace; one check at a time. */
	check(now: number, db: D1Database, gate: D1Gate): Promise<HandoffCheck> {
		this.#running ??= this.#check(now, db, gate).finally(() => {
			this.#running = null;
		});
		return this.#running;
	}

	async #check(now: number, db: D1Database, gate: D1Gate): Promise<HandoffCheck> {
		this.#readBack(now);
		const due = [...this.#outstanding.values()].filter((handoff) => handoff.acceptedAt <= now - HANDOFF_GRACE_MS);
		const unreported = due.filter((handoff) => !handoff.inD1);
		const toFind = due.filter((handoff) => handoff.inD1);
		let found: Set<string> | null = null;
		if (toFind.length > 0 && gate.ready(Date.now())) {
			try {
				found = await within(findInD1(db, toFind), CHECK_TIMEOUT_MS, () => {
					throw new Error(`D1 did not answer within ${CHECK_TIMEOUT_MS} ms`);
				});
			} catch (error) {
				gate.failed(Date.now());
				log.warn("ledger_handoff_check_failed", {
					ledger: this.#ledger,
					rows: toFind.length,
					error: errorMessage(error),
				});
			}
		}
		// A report or an erasure may have come in while D1 answered: only what is still outstanding counts.
		const current = (handoff: Handoff) => this.#outstanding.get(keyOf(handoff)) === handoff;
		const present = found === null ? [] : toFind.filter((handoff) => current(handoff) && found.has(keyOf(handoff)));
		const absent = found === null ? [] : toFind.filter((handoff) => current(handoff) && !found.has(keyOf(handoff)));
		const reclaimed = [...unreported.filter(current), ...absent];
		const resolved = [...present, ...reclaimed];
		const done = new Set(resolved.map(keyOf));
		const left = [...this.#outstanding.values()].filter((handoff) => !done.has(keyOf(handoff)));
		const oldestLeft = Math.min(...left.map((handoff) => handoff.acceptedAt));
		// Stored only up to the real time, so a row accepted later is never behind it; whether it has
		// moved VERIFIED_STEP_MS is judged on the check's clock too (the cron's scheduled time, which
		// the bench's simulated days move ahead; in production never after the real time).
		const through = Math.min(Date.now(), oldestLeft);
		const reached = Math.min(Math.max(now, Date.now()), oldestLeft);
		const advance = this.#sinceThrough && (this.#through === null || reached - this.#through >= VERIFIED_STEP_MS);
		if (reclaimed.length > 0 || advance) {
			this.#db.transaction(() => {
				this.#outbox.add(
					reclaimed.map(({ partition, messageId, id }) => ({ partition, messageId, id, missing: COPIED.all })),
				);
				if (advance) this.#db.setMeta(VERIFIED_THROUGH, String(through));
			});
			if (advance) {
				this.#through = through;
				this.#sinceThrough = left.length > 0;
			}
		}
		for (const key of done) this.#outstanding.delete(key);
		if (reclaimed.length > 0) {
			// Either the Worker died before queueing them, or after queueing and before storing: both copies are made again.
			log.warn("ledger_handoff_reclaimed", {
				ledger: this.#ledger,
				rows: reclaimed.length,
				unreported: reclaimed.length - absent.length,
				notInD1: absent.length,
			});
		}
		// What is due and still here waits for D1's backoff; the rest for its own grace.
		const stillDue = [...this.#outstanding.values()].filter((handoff) => handoff.acceptedAt <= now - HANDOFF_GRACE_MS);
		const notDue = [...this.#outstanding.values()].filter((handoff) => handoff.acceptedAt > now - HANDOFF_GRACE_MS);
		const nextAt = Math.min(
			Math.min(...notDue.map((handoff) => handoff.acceptedAt)) + HANDOFF_GRACE_MS + CHECK_SLACK_MS,
			stillDue.length > 0 ? Math.max(gate.retryAt(), Date.now() + CHECK_RETRY_MIN_MS) : Number.POSITIVE_INFINITY,
		);
		return { reclaimed: reclaimed.length, nextAt };
	}

	/**
	 * A new instance does not know what its predecessor handed off: the rows accepted since the
	 * watermark (without one, since yesterday) that are neither fully copied nor in the outbox.
	 * Each is looked for in D1 after its grace, as if this instance had handed it off.
	 */
	#readBack(now: number): void {
		if (this.#known) return;
		this.#known = true;
		const through = Number(this.#db.getMeta(VERIFIED_THROUGH) ?? Number.NaN);
		if (Number.isFinite(through)) this.#through = through;
		const from = Number.isFinite(through) ? through : 0;
		const first = partitionOf(hourOf((Number.isFinite(through) ? through : now) - DAY_MS));
		const partitions = this.#days.partitions.filter((partition) => partition >= first);
		for (const row of this.#outbox.unaccounted(partitions, from)) {
			const key = keyOf(row);
			if (!this.#outstanding.has(key)) this.#outstanding.set(key, { ...row, inD1: true });
			this.#sinceThrough = true;
		}
	}
}
