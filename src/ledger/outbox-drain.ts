import { insertQuarantine } from "../db/quarantine.repository";
import { errorMessage, log } from "../log";
import { Backoff } from "./backoff";
import { type CopyResult, sendToQueue, storeInD1 } from "./copy-out";
import { COPIED, type LedgerRow, reportKey } from "./store/ledger-rows";
import type { LedgerSql } from "./store/ledger-sql";
import type { Outbox } from "./store/outbox";
import type { QuarantineHold } from "./store/quarantine-hold";

const DRAIN_MAX_ROWS = 50;
/** Bounds the memory of one drain pass, whatever the size of the texts. */
const DRAIN_MAX_CHARS = 4 * 1024 * 1024;

type Target = { bit: number; name: "queue" | "d1"; backoff: Backoff };

/**
 * The ledger's own copy-out of what the fast path left behind, each target on its own backoff:
 * forwarding never waits for D1, and a target that fails is not tried again before its backoff.
 */
export class OutboxDrain {
	readonly #ledger: string;
	readonly #env: Env;
	readonly #transaction: <T>(work: () => T) => T;
	readonly #outbox: Outbox;
	readonly #quarantine: QuarantineHold;
	readonly #queue: Target = { bit: COPIED.queue, name: "queue", backoff: new Backoff() };
	readonly #d1: Target = { bit: COPIED.d1, name: "d1", backoff: new Backoff() };
	#running: Promise<number> | null = null;

	constructor(ledger: string, env: Env, db: LedgerSql, parts: { outbox: Outbox; quarantine: QuarantineHold }) {
		this.#ledger = ledger;
		this.#env = env;
		this.#transaction = (work) => db.transaction(work);
		this.#outbox = parts.outbox;
		this.#quarantine = parts.quarantine;
	}

	/** The copies a fresh handoff may try now (COPIED bits): a target backing off is left to the drain. */
	ready(now: number): number {
		return (this.#queue.backoff.ready(now) ? COPIED.queue : 0) | (this.#d1.backoff.ready(now) ? COPIED.d1 : 0);
	}

	/** The Worker just saw D1 fail: the drain's first try waits out the first step of the backoff. */
	d1Failed(now: number): void {
		if (this.#d1.backoff.ready(now)) this.#d1.backoff.fail(now);
	}

	/** When the sooner of the targets in `missing` may be tried again; Infinity for none. */
	retryAt(missing: number): number {
		const queueAt = (missing & COPIED.queue) === 0 ? Number.POSITIVE_INFINITY : this.#queue.backoff.retryAt;
		const d1At = (missing & COPIED.d1) === 0 ? Number.POSITIVE_INFINITY : this.#d1.backoff.retryAt;
		return Math.min(queueAt, d1At);
	}

	/** Resolves once no drain is running (at once when none is). */
	async idle(): Promise<void> {
		await this.#running?.catch(() => undefined);
	}

	/** Copies the outbox out; returns the copies still missing when it stopped (0 once it is empty). */
	run(): Promise<number> {
		// Alarms never overlap, but an alarm run by hand (tests, maintenance) could.
		this.#running ??= this.#run().finally(() => {
			this.#running = null;
		});
		return this.#running;
	}

	async #run(): Promise<number> {
		// Held quarantine rows need D1 only; they never hold back a forward.
		const quarantineLeft = (await this.#drainQuarantine()) ? 0 : COPIED.d1;
		await this.#drainTarget(this.#queue, (rows) => sendToQueue(this.#env.FORWARD_QUEUE, rows));
		await this.#drainTarget(this.#d1, (rows) => storeInD1(this.#env.DB, rows));
		const queueLeft = this.#outbox.needs(COPIED.queue) ? COPIED.queue : 0;
		const d1Left = this.#outbox.needs(COPIED.d1) ? COPIED.d1 : 0;
		return quarantineLeft | queueLeft | d1Left;
	}

	/** Copies every outbox row that needs the target, page by page, until done or the target fails. */
	async #drainTarget(target: Target, copy: (rows: LedgerRow[]) => Promise<CopyResult>): Promise<void> {
		while (target.backoff.ready(Date.now())) {
			const rows = await this.#outbox.rows(target.bit, DRAIN_MAX_ROWS, DRAIN_MAX_CHARS);
			if (rows.length === 0) return;
			const result = await copy(rows);
			const reports = rows
				.filter((row) => result.done.has(row.id))
				.map((row) => ({ ...reportKey(row), copied: target.bit }));
			this.#transaction(() => this.#outbox.record(reports));
			this.#settle(target, result.error);
			if (result.error !== null || result.done.size === 0) return;
		}
	}

	/** Held quarantine rows into D1; false while some remain (D1 refusing or backing off). */
	async #drainQuarantine(): Promise<boolean> {
		for (;;) {
			const rows = this.#quarantine.held(DRAIN_MAX_ROWS, DRAIN_MAX_CHARS);
			if (rows.length === 0) return true;
			if (!this.#d1.backoff.ready(Date.now())) return false;
			try {
				await this.#env.DB.batch(insertQuarantine(this.#env.DB, rows));
				this.#settle(this.#d1, null);
			} catch (error) {
				this.#settle(this.#d1, errorMessage(error));
				return false;
			}
			this.#transaction(() => this.#quarantine.release(rows.map((row) => row.id)));
		}
	}

	#settle(target: Target, error: string | null): void {
		if (error === null) {
			target.backoff.succeed();
			return;
		}
		const retryInMs = target.backoff.fail(Date.now());
		log.error("ledger_drain_failed", {
			ledger: this.#ledger,
			target: target.name,
			failures: target.backoff.failures,
			retryInMs,
			error,
		});
	}
}
