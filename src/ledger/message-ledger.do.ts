import { DurableObject } from "cloudflare:workers";
import { readRetentionConfig } from "../config";
import { errorMessage, log } from "../log";
import { drainOutbox } from "./drain-outbox";
import { type LedgerEntry, LedgerStore } from "./ledger-store";

const DAY_MS = 24 * 60 * 60 * 1000;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 5 * 60 * 1000;

export interface AcceptResult {
	stored: number;
	duplicates: number;
}

/**
 * One per Bandwidth message id. It serializes that message's events, so de-duplication and the
 * status ladder need no global lock; its SQLite storage is the durable outbox that lets the
 * callback be acknowledged before D1 or the queue has seen the event (DESIGN §1).
 */
export class MessageLedger extends DurableObject<Env> {
	#store: LedgerStore;
	#draining: Promise<void> | null = null;
	#failures = 0;
	#retryAt = 0;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.#store = new LedgerStore(ctx.storage.sql);
	}

	/**
	 * Accepts events in one synchronous transaction: no await can let a concurrent duplicate in
	 * between the "seen?" check and the write.
	 */
	async accept(entries: LedgerEntry[]): Promise<AcceptResult> {
		const result = this.ctx.storage.transactionSync(() => {
			let sequence = this.#store.nextSequence();
			let stored = 0;
			for (const entry of entries) {
				if (this.#store.append(entry, sequence)) {
					sequence += 1;
					stored += 1;
				}
			}
			return { stored, duplicates: entries.length - stored };
		});
		// While a failed drain backs off, new events wait for the armed retry instead of hammering
		// a dependency that is down.
		if (result.stored > 0 && Date.now() >= this.#retryAt) {
			await this.ctx.storage.setAlarm(Date.now());
		}
		return result;
	}

	override async alarm(): Promise<void> {
		// Alarms never overlap, but an alarm run by hand (tests, a future admin call) could.
		this.#draining ??= this.#drainThenSchedule().finally(() => {
			this.#draining = null;
		});
		await this.#draining;
	}

	async #drainThenSchedule(): Promise<void> {
		try {
			await drainOutbox(this.#store, this.env);
		} catch (error) {
			this.#failures += 1;
			const delay = Math.min(RETRY_FIRST_MS * 2 ** (this.#failures - 1), RETRY_MAX_MS);
			this.#retryAt = Date.now() + delay;
			log.error("ledger_drain_failed", { failures: this.#failures, retryInMs: delay, error: errorMessage(error) });
			await this.ctx.storage.setAlarm(this.#retryAt);
			return;
		}
		this.#failures = 0;
		this.#retryAt = 0;
		await this.#scheduleForgetting();
	}

	/** Remembers ids long enough to absorb Bandwidth's 24 h of retries, then clears itself. */
	async #scheduleForgetting(): Promise<void> {
		const lastAcceptedAt = this.#store.lastAcceptedAt();
		if (lastAcceptedAt === null) return;
		const config = readRetentionConfig(this.env);
		const days = config.ok ? config.value.ledgerRetentionDays : 30;
		const forgetAt = lastAcceptedAt + days * DAY_MS;
		if (Date.now() >= forgetAt) {
			await this.ctx.storage.deleteAll();
			// The table is gone with everything else; a late event for this message starts afresh.
			this.#store = new LedgerStore(this.ctx.storage.sql);
			return;
		}
		await this.ctx.storage.setAlarm(forgetAt);
	}
}
