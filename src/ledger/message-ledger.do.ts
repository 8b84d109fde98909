import { DurableObject } from "cloudflare:workers";
import { readRetentionConfig } from "../config";
import type { EventRow } from "../db/events.repository";
import { errorMessage, log } from "../log";
import { drainOutbox } from "./drain-outbox";
import { type LedgerEntry, LedgerStore, ROW_STATE } from "./ledger-store";

const DAY_MS = 24 * 60 * 60 * 1000;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 5 * 60 * 1000;
/**
 * A Worker may start copying a handoff out until this long after the ledger handed it over, and
 * the ledger takes back what was not reported after the grace. The gap between them is what keeps
 * a slow Worker (its answer delayed by a slow ledger or D1) and the ledger's own drain from both
 * sending the same rows: a queue send would have to take 30 s to overlap.
 */
export const HANDOFF_COPY_WINDOW_MS = 30_000;
export const HANDOFF_GRACE_MS = 60_000;

/** Rows a ledger hands back to the Worker that delivered them, to copy out right away. */
export interface Handoff {
	messageId: string;
	rows: EventRow[];
	/** The ledger's clock when it handed the rows over. */
	handedOffAt: number;
}

export interface AcceptResult {
	stored: number;
	duplicates: number;
	handoff: Handoff | null;
}

/**
 * One per Bandwidth message id. It serializes that message's events, so de-duplication and the
 * status ladder need no global lock; its SQLite storage is the durable outbox that lets the
 * callback be acknowledged before D1 or the queue has seen the event (DESIGN §1).
 *
 * The outbox drains two ways: the delivering Worker copies fresh rows out right after its 200
 * (a handoff), and the ledger's alarm drains whatever is pending — rows released after a failed
 * handoff, rows never reported, and everything while a dependency is down.
 */
export class MessageLedger extends DurableObject<Env> {
	#store: LedgerStore;
	#draining: Promise<void> | null = null;
	#failures = 0;
	#retryAt = 0;
	/** The alarm this instance last set, so an unchanged one is not written again. */
	#alarmAt: number | null = null;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.#store = new LedgerStore(ctx.storage.sql);
	}

	/**
	 * Accepts events in one synchronous transaction: no await can let a concurrent duplicate in
	 * between the "seen?" check and the write.
	 */
	async accept(entries: LedgerEntry[]): Promise<AcceptResult> {
		const now = Date.now();
		const result = this.ctx.storage.transactionSync((): AcceptResult => {
			// Hand new rows to the caller only when nothing older waits: the outbox then still drains
			// in order, and while a dependency is down everything stays with the backoff.
			const snapshot = this.#store.snapshot();
			const handOff = snapshot.pending === 0 && now >= this.#retryAt;
			const state = handOff ? ROW_STATE.handedOff : ROW_STATE.pending;
			let sequence = snapshot.nextSequence;
			const rows: EventRow[] = [];
			for (const entry of entries) {
				const row = this.#store.append(entry, sequence, state, now);
				if (row === null) continue;
				rows.push(row);
				sequence += 1;
			}
			const handoff =
				handOff && rows.length > 0 ? { messageId: rows[0]?.message_id ?? "", rows, handedOffAt: now } : null;
			return { stored: rows.length, duplicates: entries.length - rows.length, handoff };
		});
		if (result.stored > 0) await this.#arm(now);
		return result;
	}

	/** The Worker's report on a handoff: what reached D1 and the queue, and what it gives back. */
	async settleHandoff(drained: number[], released: number[]): Promise<void> {
		this.ctx.storage.transactionSync(() => {
			this.#store.markDrained(drained);
			this.#store.release(released);
		});
		await this.#arm(Date.now());
	}

	override async alarm(): Promise<void> {
		this.#alarmAt = null;
		// Alarms never overlap, but an alarm run by hand (tests, a future admin call) could.
		this.#draining ??= this.#drain().finally(() => {
			this.#draining = null;
		});
		await this.#draining;
	}

	async #drain(): Promise<void> {
		this.#store.reclaimHandoffs(Date.now() - HANDOFF_GRACE_MS);
		try {
			await drainOutbox(this.#store, this.env);
			this.#failures = 0;
			this.#retryAt = 0;
		} catch (error) {
			this.#failures += 1;
			const delay = Math.min(RETRY_FIRST_MS * 2 ** (this.#failures - 1), RETRY_MAX_MS);
			this.#retryAt = Date.now() + delay;
			log.error("ledger_drain_failed", { failures: this.#failures, retryInMs: delay, error: errorMessage(error) });
		}
		const now = Date.now();
		const next = this.#nextStep(now);
		if (next?.step === "forget" && next.at <= now) {
			// Drained and past retention: forget, so the ledger holds no storage at all.
			await this.ctx.storage.deleteAll();
			this.#store = new LedgerStore(this.ctx.storage.sql);
			this.#alarmAt = null;
			return;
		}
		await this.#arm(now);
	}

	/**
	 * What the alarm does next, and when: drain pending rows (now, or when the backoff ends), take
	 * back an unreported handoff, or — everything drained — forget the message once Bandwidth can
	 * no longer retry it. Null when the ledger holds nothing.
	 */
	#nextStep(now: number): { step: "drain" | "reclaim" | "forget"; at: number } | null {
		const { pending, oldestHandoff, lastAcceptedAt } = this.#store.snapshot();
		if (pending > 0) return { step: "drain", at: Math.max(now, this.#retryAt) };
		if (oldestHandoff !== null) return { step: "reclaim", at: oldestHandoff + HANDOFF_GRACE_MS };
		if (lastAcceptedAt === null) return null;
		const config = readRetentionConfig(this.env);
		return { step: "forget", at: lastAcceptedAt + (config.ok ? config.value.ledgerRetentionDays : 30) * DAY_MS };
	}

	async #arm(now: number): Promise<void> {
		const at = this.#nextStep(now)?.at;
		if (at === undefined || at === this.#alarmAt) return;
		await this.ctx.storage.setAlarm(at);
		this.#alarmAt = at;
	}
}
