import { DurableObject } from "cloudflare:workers";
import type { NewQuarantineRow } from "../db/quarantine.repository";
import type { Fact } from "../insights/facts";
import { type InsightsVisit, LedgerInsights } from "../insights/ledger-insights";
import { errorMessage, log } from "../log";
import { meter } from "../meter/meter";
import { meteredEnv } from "../meter/metered-env";
import { ARCHIVED_THROUGH, archiveClosedHours } from "./archive-hours";
import { forgetDays } from "./forget-days";
import type { AcceptResult, MaintainReport } from "./ledger-rpc";
import { drainLegacyLedger, isLegacyLedger } from "./legacy-ledger";
import { OutboxDrain } from "./outbox-drain";
import { DAY_MS, type Hour, hourOf, partitionOf } from "./partitions";
import { DayTables } from "./store/day-tables";
import {
	COPIED,
	type CopyReport,
	type LedgerEntry,
	type LedgerRow,
	type MessagesErased,
	type OutboxKey,
	reportKey,
} from "./store/ledger-rows";
import { LedgerSql } from "./store/ledger-sql";
import { Outbox } from "./store/outbox";
import { QuarantineHold } from "./store/quarantine-hold";

/**
 * A Worker may start copying a handoff out until this long after its own answer; the ledger takes
 * back what was not reported after the grace. The gap keeps a slow Worker and the ledger's own
 * drain from both sending the same rows.
 */
export const HANDOFF_COPY_WINDOW_MS = 25_000;
export const HANDOFF_GRACE_MS = 60_000;
const RECLAIM_SLACK_MS = 5_000; // one reclaim alarm covers the handoffs of the next few seconds too
/**
 * Events one message may have. Bandwidth sends a handful (sending, sent, delivered or failed per
 * recipient; a group MMS a few per recipient); past this, more are quarantined, not stored, so a
 * flood under one message id cannot grow a ledger's scans or a message's page without bound.
 */
export const MAX_EVENTS_PER_MESSAGE = 1000;
const ALARM_FAILED_RETRY_MS = 60_000;

type Outstanding = { partition: string; messageId: string; id: string; acceptedAt: number };

/**
 * A ledger bucket: the durable outbox and the de-duplication memory of every message whose id
 * hashes to it (src/ledger/ledger-client.ts). Accepting is one synchronous transaction, so no
 * await lets a concurrent duplicate in between the "seen?" check and the write (DESIGN §1).
 *
 * The outbox drains two ways: the delivering Worker copies fresh rows to the queue and D1 right
 * after its 200 (a handoff) and reports what went; the ledger's alarm copies the rest (a target
 * backing off, a failed copy, a Worker that never reported), each target on its own backoff.
 * Bodies stay for DEDUPE_DAYS: the consumer reads a large event from here, and the archive is
 * written from here, so neither needs D1.
 */
export class MessageLedger extends DurableObject<Env> {
	readonly #db: LedgerSql;
	readonly #days: DayTables;
	readonly #outbox: Outbox;
	readonly #quarantine: QuarantineHold;
	readonly #drain: OutboxDrain;
	readonly #insights: LedgerInsights;
	#outstanding = new Map<string, Outstanding>(); // unreported handoffs; a new instance reads them back
	#outstandingKnown = false;
	/** New rows are archived under this hour at the earliest: the hours before it are written. */
	#openHour: Hour | null;
	#alarmAt: number | null | undefined = undefined;

	constructor(ctx: DurableObjectState, env: Env) {
		// Its D1, queue and R2 calls are counted like the Worker's (src/meter).
		super(ctx, meteredEnv(env));
		this.#db = new LedgerSql(ctx.storage);
		this.#days = new DayTables(this.#db);
		this.#outbox = new Outbox(this.#db, this.#days);
		this.#quarantine = new QuarantineHold(this.#db);
		this.#drain = new OutboxDrain(this.#name, this.env, this.#db, {
			outbox: this.#outbox,
			quarantine: this.#quarantine,
		});
		this.#openHour = this.#db.getMeta(ARCHIVED_THROUGH);
		this.#insights = new LedgerInsights(this.#db, this.#days);
	}

	get #name(): string {
		return this.ctx.id.name ?? this.ctx.id.toString();
	}

	async accept(entries: LedgerEntry[]): Promise<AcceptResult> {
		meter.add("doRequests");
		const now = this.#insights.clock(Date.now());
		const targets = this.#drain.ready(now);
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
		for (const row of rows) {
			this.#outstanding.set(keyOf(row.message_id, row.id), { ...reportKey(row), acceptedAt: now });
		}
		// A Worker that dies before reporting is covered by this alarm. Under steady traffic one is
		// already set (by an earlier handoff) and nothing is written: a bucket pays about one
		// setAlarm and one alarm a minute, not one per event.
		await this.#arm(now + HANDOFF_GRACE_MS + RECLAIM_SLACK_MS);
		return { ...result, handoff: { ledger: this.#name, rows, targets } };
	}

	/** The Worker's report on a handoff: the copies it made of each row. Rows still missing one go to the outbox. */
	async settle(reports: CopyReport[]): Promise<void> {
		meter.add("doRequests");
		for (const report of reports) this.#outstanding.delete(keyOf(report.messageId, report.id));
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
	 * Erasure (src/erase): forgets every event of these messages, in every day table and the
	 * outbox, so nothing of them is copied out or archived from here on. Their ids go too: a
	 * Bandwidth retry of an erased event is accepted again as new.
	 */
	async erase(...messageIds: string[]): Promise<MessagesErased> {
		meter.add("doRequests");
		const erased = this.#db.transaction((): MessagesErased => {
			const deleted = messageIds.flatMap((messageId) => this.#days.erase(messageId));
			const outbox = messageIds.reduce((sum, messageId) => sum + this.#outbox.erase(messageId), 0);
			return {
				rows: deleted.length,
				outbox,
				eventIds: deleted.map((row) => row.id),
				hours: [...new Set(deleted.map((row) => row.hour))].sort(),
			};
		});
		for (const [key, handoff] of this.#outstanding) {
			if (messageIds.includes(handoff.messageId)) this.#outstanding.delete(key);
		}
		return erased;
	}

	/**
	 * The cron's visit (src/maintenance/run-maintenance.ts): take back unreported handoffs, archive
	 * closed hours, forget days past DEDUPE_DAYS, and make sure an outbox with rows has an alarm.
	 * With `insights`, it also hands over the insight counts not yet written (src/insights).
	 */
	async maintain(now: number, insights?: InsightsVisit): Promise<MaintainReport> {
		meter.add("doRequests");
		const report: MaintainReport = {
			insights: await this.#insights.visit(insights),
			ledger: this.#name,
			archivedThrough: null,
			archivedEvents: 0,
			dropped: [],
			reclaimed: this.#reclaim(now),
			outbox: 0,
			outboxSince: null,
		};
		if (this.env.ARCHIVE !== undefined) {
			const archived = await archiveClosedHours(
				{ archive: this.env.ARCHIVE, ledger: this.#name, db: this.#db, days: this.#days },
				{ get: () => this.#openHour, set: (hour) => (this.#openHour = hour) },
				now,
			);
			report.archivedThrough = archived.through;
			report.archivedEvents = archived.events;
		}
		report.dropped = forgetDays(
			{ name: this.#name, env: this.env, days: this.#days, outbox: this.#outbox },
			now,
			report.archivedThrough,
		);
		report.outbox = this.#outbox.size();
		if (report.outbox === 0) return report;
		report.outboxSince = this.#outbox.oldestAcceptedAt();
		await this.#armOutbox(now, COPIED.all);
		return report;
	}

	override async alarm(): Promise<void> {
		meter.add("doRequests");
		this.#alarmAt = null;
		try {
			if (isLegacyLedger(this.ctx.storage.sql)) {
				await drainLegacyLedger(this.ctx, this.env);
				return;
			}
			this.#reclaim(Date.now());
			const missing = await this.#drain.run();
			if (missing !== 0) await this.#armOutbox(Date.now(), missing);
			const oldest = Math.min(...[...this.#outstanding.values()].map((handoff) => handoff.acceptedAt));
			if (Number.isFinite(oldest)) await this.#arm(oldest + HANDOFF_GRACE_MS + RECLAIM_SLACK_MS);
		} catch (error) {
			// Never past the runtime's own retries: log, and come back on the backoff.
			log.error("ledger_alarm_failed", { ledger: this.#name, error: errorMessage(error) });
			await this.#arm(Date.now() + ALARM_FAILED_RETRY_MS).catch(() => undefined);
		}
	}

	/** Moves handoffs nobody reported on within the grace into the outbox. */
	#reclaim(now: number): number {
		const before = now - HANDOFF_GRACE_MS;
		let reclaimed: OutboxKey[];
		if (this.#outstandingKnown) {
			// Never reported: as far as this ledger knows, neither copy was made.
			reclaimed = [...this.#outstanding.values()]
				.filter((handoff) => handoff.acceptedAt <= before)
				.map(({ partition, messageId, id }) => ({ partition, messageId, id, missing: COPIED.all }));
		} else {
			// A new instance does not know what its predecessor handed off: read the recent days back.
			const recent = [partitionOf(hourOf(now - DAY_MS)), partitionOf(hourOf(now))];
			reclaimed = this.#db.transaction(() => this.#outbox.unreported(recent, before));
			this.#outstandingKnown = true;
		}
		if (reclaimed.length === 0) return 0;
		this.#db.transaction(() => this.#outbox.add(reclaimed));
		for (const row of reclaimed) this.#outstanding.delete(keyOf(row.messageId, row.id));
		log.warn("ledger_handoff_reclaimed", { ledger: this.#name, rows: reclaimed.length });
		return reclaimed.length;
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
		await this.ctx.storage.setAlarm(at);
		meter.add("doRowsWritten");
		this.#alarmAt = at;
	}
}

const keyOf = (messageId: string, id: string): string => `${messageId}\n${id}`;
