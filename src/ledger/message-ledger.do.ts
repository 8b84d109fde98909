import { DurableObject } from "cloudflare:workers";
import type { NewQuarantineRow } from "../db/quarantine.repository";
import type { Fact } from "../insights/facts";
import { type InsightsVisit, LedgerInsights } from "../insights/ledger-insights";
import { errorMessage, log } from "../log";
import { meter } from "../meter/meter";
import { meteredEnv } from "../meter/metered-env";
import { ARCHIVED_THROUGH, ArchiveRuns, archiveClosedHours } from "./archive-hours";
import { forgetDays } from "./forget-days";
import { CHECK_SLACK_MS, type D1Gate, HANDOFF_GRACE_MS, Handoffs } from "./handoffs";
import { ledgerNameOfId } from "./ledger-client";
import { LedgerErasure } from "./ledger-erasure";
import type { AcceptResult, MaintainReport } from "./ledger-rpc";
import { drainLegacyLedger, LEGACY_LEDGER_TABLE } from "./legacy-ledger";
import { OutboxDrain } from "./outbox-drain";
import { type Hour, hourOf } from "./partitions";
import { DayTables } from "./store/day-tables";
import {
	COPIED,
	type CopyReport,
	type LedgerEntry,
	type LedgerRow,
	type MessagesErased,
	reportKey,
} from "./store/ledger-rows";
import { LedgerSql } from "./store/ledger-sql";
import { Outbox } from "./store/outbox";
import { QuarantineHold } from "./store/quarantine-hold";

export { HANDOFF_COPY_WINDOW_MS, HANDOFF_GRACE_MS } from "./handoffs";
/**
 * Events one message may have. Bandwidth sends a handful (sending, sent, delivered or failed per
 * recipient; a group MMS a few per recipient); past this, more are quarantined, not stored, so a
 * flood under one message id cannot grow a ledger's scans or a message's page without bound.
 */
export const MAX_EVENTS_PER_MESSAGE = 1000;
const ALARM_FAILED_RETRY_MS = 60_000;

/**
 * A ledger bucket: the durable outbox and the de-duplication memory of every message whose id
 * hashes to it (src/ledger/ledger-client.ts). Accepting is one synchronous transaction, so no
 * await lets a concurrent duplicate in between the "seen?" check and the write (DESIGN §1).
 *
 * The outbox drains two ways: the delivering Worker copies fresh rows to the queue and D1 right
 * after its 200 (a handoff), storing in D1 only what it queued, and reports only what failed; the
 * ledger looks for the rest in D1 after a grace (src/ledger/handoffs.ts). Its alarm copies what
 * is missing (a target backing off, a failed copy, a Worker that died), each target on its own
 * backoff.
 * Bodies stay for DEDUPE_DAYS: the consumer reads a large event from here, and the archive is
 * written from here, so neither needs D1.
 */
export class MessageLedger extends DurableObject<Env> {
	/** The bucket's name, also in an instance started without it (ledgerNameOfId). */
	readonly #name: string;
	readonly #db: LedgerSql;
	readonly #days: DayTables;
	readonly #outbox: Outbox;
	readonly #quarantine: QuarantineHold;
	readonly #drain: OutboxDrain;
	readonly #handoffs: Handoffs;
	readonly #erasure: LedgerErasure;
	readonly #insights: LedgerInsights;
	/** New rows are archived under this hour at the earliest: the hours before it are written. */
	#openHour: Hour | null;
	#alarmAt: number | null | undefined = undefined;
	readonly #archiveRuns = new ArchiveRuns();

	constructor(ctx: DurableObjectState, env: Env) {
		// Its D1, queue and R2 calls are counted like the Worker's (src/meter).
		super(ctx, meteredEnv(env));
		this.#name = ledgerNameOfId(env, ctx.id);
		this.#db = new LedgerSql(ctx.storage);
		this.#days = new DayTables(this.#db);
		this.#outbox = new Outbox(this.#db, this.#days);
		this.#quarantine = new QuarantineHold(this.#db);
		this.#drain = new OutboxDrain(this.#name, this.env, this.#db, {
			outbox: this.#outbox,
			quarantine: this.#quarantine,
		});
		this.#handoffs = new Handoffs(this.#name, this.#db, { days: this.#days, outbox: this.#outbox });
		this.#erasure = new LedgerErasure({
			db: this.#db,
			days: this.#days,
			outbox: this.#outbox,
			quarantine: this.#quarantine,
			handoffs: this.#handoffs,
		});
		this.#openHour = this.#db.getMeta(ARCHIVED_THROUGH);
		this.#insights = new LedgerInsights(this.#db, this.#days);
	}

	async accept(entries: LedgerEntry[]): Promise<AcceptResult> {
		meter.add("doRequests");
		const now = this.#insights.clock(Date.now());
		// The Worker stores in D1 only what it queued: with the queue backing off it copies nothing.
		const ready = this.#drain.ready(now);
		const targets = ready === COPIED.all ? COPIED.all : ready & COPIED.queue;
		const refused: LedgerEntry[] = [];
		const facts: Fact[] = [];
		const rows = this.#db.transaction((): LedgerRow[] => {
			const accepted: LedgerRow[] = [];
			for (const entry of entries) {
				if (this.#days.seen(entry.message_id, entry.id)) continue;
				const sequence = this.#days.nextSequence(entry.message_id);
				if (sequence > MAX_EVENTS_PER_MESSAGE) {
					refused.push(entry);
					continue;
				}
				const received = hourOf(entry.received_at);
				const hour = this.#openHour !== null && received < this.#openHour ? this.#openHour : received;
				const fact = this.#insights.factOf(entry);
				if (fact !== null) facts.push(fact);
				accepted.push(this.#days.append(entry, sequence, hour, now, this.#insights.stored(fact)));
			}
			if (targets === 0) this.#outbox.add(accepted.map((row) => ({ ...reportKey(row), missing: COPIED.all })));
			return accepted;
		});
		this.#insights.accepted(facts);
		meter.add("eventsAccepted", rows.length);
		const result: AcceptResult = {
			stored: rows.length,
			duplicates: entries.length - rows.length - refused.length,
			refused,
			handoff: null,
		};
		if (rows.length === 0) return result;
		if (targets === 0) {
			await this.#armOutbox(now, COPIED.all);
			return result;
		}
		// With both copies to make, the rows found in D1 are the Worker's report; with the queue alone
		// (D1 backing off), only its report is.
		this.#handoffs.track(rows, targets === COPIED.all, now);
		// The check after the grace. Under steady traffic an alarm is already set (by an earlier
		// handoff) and nothing is written: a bucket pays about one setAlarm and one alarm a minute,
		// not one per event.
		await this.#arm(now + HANDOFF_GRACE_MS + CHECK_SLACK_MS);
		return { ...result, handoff: { ledger: this.#name, rows, targets } };
	}

	/**
	 * The Worker's report on a handoff it could not copy whole: the copies it made of each row. Rows
	 * still missing one go to the outbox.
	 */
	async settle(reports: CopyReport[]): Promise<void> {
		meter.add("doRequests");
		this.#handoffs.reported(reports);
		const incomplete = this.#db.transaction(() => this.#outbox.record(reports));
		if (incomplete > 0) {
			const missing = reports.reduce((needs, report) => needs | (COPIED.all & ~report.copied), 0);
			await this.#armOutbox(Date.now(), missing);
		}
	}

	/**
	 * Quarantine rows D1 refused: held until the alarm gets them into D1, so an invalid element
	 * needs D1 no more than a valid one does for its callback's 200.
	 */
	async holdQuarantine(rows: NewQuarantineRow[]): Promise<void> {
		meter.add("doRequests");
		const now = Date.now();
		this.#db.transaction(() => this.#quarantine.hold(rows));
		this.#drain.d1Failed(now);
		await this.#armOutbox(now, COPIED.d1);
	}

	/** A stored event's CloudEvent, for the consumer of an event too large to ride in its queue message. */
	async body(messageId: string, eventId: string): Promise<string | null> {
		meter.add("doRequests");
		return this.#days.body(messageId, eventId);
	}

	/**
	 * Erasure (src/erase): forgets every event of these messages, day tables and outbox, so nothing
	 * of them is copied out or archived; their ids too (a Bandwidth retry is accepted as new).
	 */
	async erase(...messageIds: string[]): Promise<MessagesErased> {
		meter.add("doRequests");
		return this.#erase(messageIds);
	}

	/** Read before erase(): these messages' events here and when each was accepted (LedgerErasure). */
	async accepted(...messageIds: string[]): Promise<Array<{ id: string; acceptedAt: number }>> {
		meter.add("doRequests");
		return this.#erasure.accepted(messageIds);
	}

	/**
	 * Erasure by phone number, for what D1 may not hold yet: answers the messages of rows still in
	 * the outbox or handed off and unaccounted for (a Worker may be writing them to D1 now) whose
	 * event names the number — as sender, owner, recipient or anywhere in message.to — and erases the
	 * quarantined elements held here that mention the number. The messages stay here for erase(),
	 * after their tombstone and media: this ledger may be the only place naming them with the
	 * number, so a failed call, retried, finds them again (fault simulation, seeds 3100, 7022).
	 * Reads only those rows, decoded one by one: few, and rare but for an outage.
	 */
	async eraseNumberPending(phoneNumber: string): Promise<{ messageIds: string[]; quarantine: number }> {
		meter.add("doRequests");
		const messageIds = await this.#erasure.pendingMessagesNaming(phoneNumber);
		const quarantine = this.#erasure.heldQuarantineNaming(phoneNumber);
		await this.#drain.idle();
		return { messageIds, quarantine };
	}

	async #erase(messageIds: string[]): Promise<MessagesErased> {
		const erased = this.#erasure.messages(messageIds);
		// Copies that read these rows before they went are let finish first: a drain's D1 write then
		// lands before the caller erases D1, and an archive write is redone without them.
		await Promise.all([this.#archiveRuns.erased(), this.#drain.idle()]);
		return erased;
	}

	/**
	 * The cron's visit (src/maintenance/run-maintenance.ts): account for the handoffs past their
	 * grace, archive closed hours, forget days past DEDUPE_DAYS, and make sure an outbox with rows
	 * has an alarm. With `insights`, it also hands over the insight counts not yet written
	 * (src/insights).
	 */
	async maintain(now: number, insights?: InsightsVisit): Promise<MaintainReport> {
		meter.add("doRequests");
		const checked = await this.#handoffs.check(now, this.env.DB, this.#d1Gate);
		const report: MaintainReport = {
			insights: await this.#insights.visit(insights),
			ledger: this.#name,
			archivedThrough: null,
			archivedEvents: 0,
			dropped: [],
			reclaimed: checked.reclaimed,
			verifiedBefore: this.#handoffs.verifiedBefore(now),
			outbox: 0,
			outboxSince: null,
			archiveError: null,
		};
		if (this.env.ARCHIVE !== undefined) {
			const target = { archive: this.env.ARCHIVE, ledger: this.#name, db: this.#db, days: this.#days };
			const open = { get: () => this.#openHour, set: (hour: Hour) => (this.#openHour = hour) };
			const archived = await this.#archiveRuns.run(
				archiveClosedHours({ ...target, erasures: () => this.#archiveRuns.erasures }, open, now),
			);
			report.archivedThrough = archived.through;
			report.archivedEvents = archived.events;
			report.archiveError = archived.error;
		}
		report.dropped = forgetDays(
			{ name: this.#name, env: this.env, days: this.#days, outbox: this.#outbox },
			now,
			report.archivedThrough,
		);
		report.outbox = this.#outbox.size();
		if (report.outbox > 0) {
			report.outboxSince = this.#outbox.oldestAcceptedAt();
			await this.#armOutbox(now, COPIED.all);
		}
		if (Number.isFinite(checked.nextAt)) await this.#arm(Math.max(Date.now(), checked.nextAt));
		return report;
	}

	override async alarm(): Promise<void> {
		meter.add("doRequests");
		this.#alarmAt = null;
		try {
			if (this.#db.has(LEGACY_LEDGER_TABLE)) {
				await drainLegacyLedger(this.ctx, this.env);
				return;
			}
			const checked = await this.#handoffs.check(Date.now(), this.env.DB, this.#d1Gate);
			const missing = await this.#drain.run();
			if (missing !== 0) await this.#armOutbox(Date.now(), missing);
			if (Number.isFinite(checked.nextAt)) await this.#arm(Math.max(Date.now(), checked.nextAt));
		} catch (error) {
			// Never past the runtime's own retries: log, and come back on the backoff.
			log.error("ledger_alarm_failed", { ledger: this.#name, error: errorMessage(error) });
			await this.#arm(Date.now() + ALARM_FAILED_RETRY_MS).catch(() => undefined);
		}
	}

	/** The D1 target's backoff: the check of handoffs in D1 waits for it as the drain does. */
	get #d1Gate(): D1Gate {
		return {
			ready: (now) => (this.#drain.ready(now) & COPIED.d1) !== 0,
			failed: (now) => this.#drain.d1Failed(now),
			retryAt: () => this.#drain.retryAt(COPIED.d1),
		};
	}

	/** Arms the alarm for the outbox: when the sooner of the targets its rows miss may be tried again. */
	async #armOutbox(now: number, missing: number): Promise<void> {
		const at = this.#drain.retryAt(missing);
		if (at === Number.POSITIVE_INFINITY) return;
		await this.#arm(Math.max(now, at));
	}

	/** Sets the alarm unless one is already due at or before `at` (a setAlarm is a billed row). */
	async #arm(at: number): Promise<void> {
		if (this.#alarmAt === undefined) this.#alarmAt = await this.ctx.storage.getAlarm();
		if (this.#alarmAt !== null && this.#alarmAt <= at) return;
		await this.#db.setAlarm(at);
		this.#alarmAt = at;
	}
}
