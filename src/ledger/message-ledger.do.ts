import { DurableObject } from "cloudflare:workers";
import { writeArchiveHour } from "../archive/write-archive-hour";
import { DEFAULT_RETENTION_CONFIG, readRetentionConfig } from "../config";
import { insertQuarantine, type NewQuarantineRow } from "../db/quarantine.repository";
import { errorMessage, log } from "../log";
import { meter } from "../meter/meter";
import { meteredEnv } from "../meter/metered-env";
import { Backoff } from "./backoff";
import { type CopyResult, sendToQueue, storeInD1 } from "./copy-out";
import type { MessagesErased } from "./ledger-store";
import { COPIED, type CopyReport, type LedgerEntry, type LedgerRow, LedgerStore, type OutboxKey } from "./ledger-store";
import { drainLegacyLedger, isLegacyLedger } from "./legacy-ledger";
import { DAY_MS, type Hour, hourOf, hourStart, nextHour, partitionEnd, partitionOf } from "./partitions";

/**
 * A Worker may start copying a handoff out until this long after its own answer; the ledger takes
 * back what was not reported after the grace. The gap keeps a slow Worker and the ledger's own
 * drain from both sending the same rows.
 */
export const HANDOFF_COPY_WINDOW_MS = 25_000;
export const HANDOFF_GRACE_MS = 60_000;
/** Lets one reclaim alarm cover the handoffs of the next few seconds too. */
const RECLAIM_SLACK_MS = 5_000;
/** An hour is archived once it is this far behind: a callback is accepted within seconds of its receipt. */
export const ARCHIVE_CLOSE_MS = 10 * 60 * 1000;
/** Hours one maintenance run archives at most: bounds a run after a long R2 outage. */
const ARCHIVE_HOURS_PER_RUN = 48;
const ARCHIVE_PAGE_ROWS = 500;
const DRAIN_MAX_ROWS = 50;
/** Bounds the memory of one drain pass, whatever the size of the texts. */
const DRAIN_MAX_CHARS = 4 * 1024 * 1024;
const ARCHIVED_THROUGH = "archived_through";
/**
 * Events one message may have. Bandwidth sends a handful (sending, sent, delivered or failed per
 * recipient; a group MMS a few per recipient); past this, more are quarantined, not stored, so a
 * flood under one message id cannot grow a ledger's scans or a message's page without bound.
 */
export const MAX_EVENTS_PER_MESSAGE = 1000;
const ALARM_FAILED_RETRY_MS = 60_000;

/** Rows a ledger hands back to the Worker that delivered them, to copy out right after its answer. */
export interface Handoff {
	ledger: string;
	rows: LedgerRow[];
	/** The copies the ledger expects the Worker to try (COPIED bits): a target backing off is left out. */
	targets: number;
}

export interface AcceptResult {
	stored: number;
	duplicates: number;
	/** Entries not stored because their message already has MAX_EVENTS_PER_MESSAGE events: quarantine them. */
	refused: LedgerEntry[];
	handoff: Handoff | null;
}

export interface MaintainReport {
	ledger: string;
	/** Every event this ledger accepted before this hour is in the archive; null without ARCHIVE. */
	archivedThrough: Hour | null;
	archivedEvents: number;
	dropped: string[];
	reclaimed: number;
	outbox: number;
}

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
	#store: LedgerStore;
	#queue = new Backoff();
	#d1 = new Backoff();
	/** Handoffs not yet reported. Lost with the instance: then the next maintenance reads them back. */
	#outstanding = new Map<string, Outstanding>();
	#outstandingKnown = false;
	/** New rows are archived under this hour at the earliest: the hours before it are written. */
	#openHour: Hour | null;
	#draining: Promise<number> | null = null;
	#alarmAt: number | null | undefined = undefined;

	constructor(ctx: DurableObjectState, env: Env) {
		// Its D1, queue and R2 calls are counted like the Worker's (src/meter).
		super(ctx, meteredEnv(env));
		this.#store = new LedgerStore(ctx.storage.sql);
		this.#openHour = this.#store.getMeta(ARCHIVED_THROUGH);
	}

	get #name(): string {
		return this.ctx.id.name ?? this.ctx.id.toString();
	}

	async accept(entries: LedgerEntry[]): Promise<AcceptResult> {
		meter.add("doRequests");
		const now = Date.now();
		const targets = (this.#queue.ready(now) ? COPIED.queue : 0) | (this.#d1.ready(now) ? COPIED.d1 : 0);
		const refused: LedgerEntry[] = [];
		const rows = this.ctx.storage.transactionSync((): LedgerRow[] => {
			const accepted: LedgerRow[] = [];
			for (const entry of entries) {
				if (this.#store.seen(entry.message_id, entry.id)) continue;
				const sequence = this.#store.nextSequence(entry.message_id);
				if (sequence > MAX_EVENTS_PER_MESSAGE) {
					refused.push(entry);
					continue;
				}
				const received = hourOf(entry.received_at);
				const hour = this.#openHour !== null && received < this.#openHour ? this.#openHour : received;
				accepted.push(this.#store.append(entry, sequence, hour, now));
			}
			if (targets === 0) this.#store.toOutbox(accepted.map((row) => ({ ...reportKey(row), missing: COPIED.all })));
			return accepted;
		});
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
		const incomplete = this.ctx.storage.transactionSync(() => this.#store.record(reports));
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
		this.ctx.storage.transactionSync(() => this.#store.holdQuarantine(rows));
		// The Worker just saw D1 fail: the first try waits out the first step of the backoff.
		if (this.#d1.ready(now)) this.#d1.fail(now);
		await this.#armOutbox(now, COPIED.d1);
	}

	/** A stored event's CloudEvent, for the consumer of an event too large to ride in its queue message. */
	async body(messageId: string, eventId: string): Promise<string | null> {
		meter.add("doRequests");
		return this.#store.body(messageId, eventId);
	}

	/**
	 * Erasure (src/erase): forgets every event of these messages, in every day table and the
	 * outbox, so nothing of them is copied out or archived from here on. Their ids go too: a
	 * Bandwidth retry of an erased event is accepted again as new.
	 */
	async erase(...messageIds: string[]): Promise<MessagesErased> {
		meter.add("doRequests");
		const erased = this.ctx.storage.transactionSync(() => this.#store.erase(messageIds));
		for (const [key, handoff] of this.#outstanding) {
			if (messageIds.includes(handoff.messageId)) this.#outstanding.delete(key);
		}
		return erased;
	}

	/**
	 * The cron's visit (src/maintenance/run-maintenance.ts): take back unreported handoffs, archive
	 * closed hours, forget days past DEDUPE_DAYS, and make sure an outbox with rows has an alarm.
	 */
	async maintain(now: number): Promise<MaintainReport> {
		meter.add("doRequests");
		const report: MaintainReport = {
			ledger: this.#name,
			archivedThrough: null,
			archivedEvents: 0,
			dropped: [],
			reclaimed: this.#reclaim(now),
			outbox: 0,
		};
		if (this.env.ARCHIVE !== undefined) {
			const archived = await this.#archive(this.env.ARCHIVE, now);
			report.archivedThrough = archived.through;
			report.archivedEvents = archived.events;
		}
		report.dropped = this.#forget(now, report.archivedThrough);
		report.outbox = this.#store.outboxSize();
		if (report.outbox > 0) await this.#armOutbox(now, COPIED.all);
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
			// Alarms never overlap, but an alarm run by hand (tests, maintenance) could.
			this.#draining ??= this.#drain().finally(() => {
				this.#draining = null;
			});
			const missing = await this.#draining;
			if (missing !== 0) await this.#armOutbox(Date.now(), missing);
			const oldest = Math.min(...[...this.#outstanding.values()].map((handoff) => handoff.acceptedAt));
			if (Number.isFinite(oldest)) await this.#arm(oldest + HANDOFF_GRACE_MS + RECLAIM_SLACK_MS);
		} catch (error) {
			// Never past the runtime's own retries: log, and come back on the backoff.
			log.error("ledger_alarm_failed", { ledger: this.#name, error: errorMessage(error) });
			await this.#arm(Date.now() + ALARM_FAILED_RETRY_MS).catch(() => undefined);
		}
	}

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
			reclaimed = this.#store.unreported(recent, before);
			this.#outstandingKnown = true;
		}
		if (reclaimed.length === 0) return 0;
		this.ctx.storage.transactionSync(() => this.#store.toOutbox(reclaimed));
		for (const row of reclaimed) this.#outstanding.delete(keyOf(row.messageId, row.id));
		log.warn("ledger_handoff_reclaimed", { ledger: this.#name, rows: reclaimed.length });
		return reclaimed.length;
	}

	/**
	 * Copies the outbox out, each target on its own backoff: forwarding never waits for D1. Returns
	 * the copies still missing when it stopped (COPIED bits; 0 once the outbox is empty).
	 */
	async #drain(): Promise<number> {
		// Held quarantine rows need D1 only; they never hold back a forward.
		const quarantineLeft = (await this.#drainQuarantine()) ? 0 : COPIED.d1;
		await this.#drainTarget(COPIED.queue, this.#queue, "queue", (rows) => sendToQueue(this.env.FORWARD_QUEUE, rows));
		await this.#drainTarget(COPIED.d1, this.#d1, "d1", (rows) => storeInD1(this.env.DB, rows));
		const queueLeft = this.#store.outboxNeeds(COPIED.queue) ? COPIED.queue : 0;
		const d1Left = this.#store.outboxNeeds(COPIED.d1) ? COPIED.d1 : 0;
		return quarantineLeft | queueLeft | d1Left;
	}

	/** Copies every outbox row that needs `target`, page by page, until done or the target fails. */
	async #drainTarget(
		target: number,
		backoff: Backoff,
		name: "queue" | "d1",
		copy: (rows: LedgerRow[]) => Promise<CopyResult>,
	): Promise<void> {
		while (backoff.ready(Date.now())) {
			const rows = this.#store.outbox(target, DRAIN_MAX_ROWS, DRAIN_MAX_CHARS);
			if (rows.length === 0) return;
			const result = await copy(rows);
			const reports = rows
				.filter((row) => result.done.has(row.id))
				.map((row) => ({ ...reportKey(row), copied: target }));
			this.ctx.storage.transactionSync(() => this.#store.record(reports));
			this.#settleTarget(backoff, name, result.error);
			if (result.error !== null || result.done.size === 0) return;
		}
	}

	/** Held quarantine rows into D1; false while some remain (D1 refusing or backing off). */
	async #drainQuarantine(): Promise<boolean> {
		for (;;) {
			const rows = this.#store.heldQuarantine(DRAIN_MAX_ROWS, DRAIN_MAX_CHARS);
			if (rows.length === 0) return true;
			if (!this.#d1.ready(Date.now())) return false;
			try {
				await this.env.DB.batch(insertQuarantine(this.env.DB, rows));
				this.#settleTarget(this.#d1, "d1", null);
			} catch (error) {
				this.#settleTarget(this.#d1, "d1", errorMessage(error));
				return false;
			}
			this.ctx.storage.transactionSync(() => this.#store.releaseQuarantine(rows.map((row) => row.id)));
		}
	}

	#settleTarget(backoff: Backoff, target: "queue" | "d1", error: string | null): void {
		if (error === null) {
			backoff.succeed();
			return;
		}
		const retryInMs = backoff.fail(Date.now());
		log.error("ledger_drain_failed", { ledger: this.#name, target, failures: backoff.failures, retryInMs, error });
	}

	/** Writes every closed hour to R2, oldest first; returns the first hour not yet written. */
	async #archive(archive: R2Bucket, now: number): Promise<{ through: Hour; events: number }> {
		const closed = hourOf(now - ARCHIVE_CLOSE_MS);
		let hour = this.#openHour ?? this.#store.oldestHour() ?? closed;
		let events = 0;
		for (let runs = 0; hour < closed && runs < ARCHIVE_HOURS_PER_RUN; runs += 1) {
			const partitionExists = this.#store.partitions.includes(partitionOf(hour));
			// Rows accepted from now on belong to later hours, even a straggler of this one.
			this.#openHour = nextHour(hour);
			if (partitionExists) {
				const written = await writeArchiveHour(archive, this.#name, hour, this.#pagesOf(hour));
				events += written.events;
			} else {
				// A day with no table has nothing to write: go to the next day at once.
				this.#openHour = hourOf(Math.min(hourStart(closed), dayAfter(hour)));
			}
			hour = this.#openHour;
			this.#store.setMeta(ARCHIVED_THROUGH, hour);
		}
		if (hour >= closed) {
			this.#openHour = hour;
			if (this.#store.getMeta(ARCHIVED_THROUGH) !== hour) this.#store.setMeta(ARCHIVED_THROUGH, hour);
		}
		return { through: hour, events };
	}

	async *#pagesOf(hour: Hour): AsyncGenerator<string> {
		let after: [string, string] | null = null;
		for (;;) {
			const page = this.#store.hourPage(hour, after, ARCHIVE_PAGE_ROWS);
			for (const row of page) yield row.body;
			const last = page.at(-1);
			if (last === undefined || page.length < ARCHIVE_PAGE_ROWS) return;
			after = [last.message_id, last.id];
		}
	}

	/** Drops whole days once DEDUPE_DAYS have passed, nothing of them waits, and (with an archive) they are written. */
	#forget(now: number, archivedThrough: Hour | null): string[] {
		const config = readRetentionConfig(this.env);
		const dedupeMs = (config.ok ? config.value : DEFAULT_RETENTION_CONFIG).dedupeDays * DAY_MS;
		const dropped: string[] = [];
		for (const partition of this.#store.partitions) {
			const end = partitionEnd(partition);
			if (end === null || end + dedupeMs > now) continue;
			if (archivedThrough !== null && hourStart(archivedThrough) < end) continue;
			if (this.#store.hasOutbox(partition)) continue;
			this.#store.drop(partition);
			dropped.push(partition);
		}
		if (dropped.length > 0) log.info("ledger_days_forgotten", { ledger: this.#name, partitions: dropped });
		return dropped;
	}

	/** Arms the alarm for the outbox: when the sooner of the targets its rows miss may be tried again. */
	async #armOutbox(now: number, missing: number): Promise<void> {
		const queueAt = (missing & COPIED.queue) === 0 ? Number.POSITIVE_INFINITY : this.#queue.retryAt;
		const d1At = (missing & COPIED.d1) === 0 ? Number.POSITIVE_INFINITY : this.#d1.retryAt;
		const at = Math.min(queueAt, d1At);
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

function keyOf(messageId: string, id: string): string {
	return `${messageId}\n${id}`;
}

function reportKey(row: LedgerRow): Pick<CopyReport, "partition" | "messageId" | "id"> {
	return { partition: row.partition, messageId: row.message_id, id: row.id };
}

function dayAfter(hour: Hour): number {
	const start = hourStart(hour);
	return start - (start % DAY_MS) + DAY_MS;
}
