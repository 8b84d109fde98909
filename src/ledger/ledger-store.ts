import { type EventRow, withSequence } from "../db/events.repository";
import type { NewQuarantineRow } from "../db/quarantine.repository";
import { meter } from "../meter/meter";
import { type Hour, partitionOf } from "./partitions";

/** What the Worker hands a ledger: a D1 row waiting for its sequence. */
export type LedgerEntry = Omit<EventRow, "sequence">;

/**
 * Where a row has been copied. Forwarding and D1 are tracked apart, each with its own backoff, so
 * that a D1 outage (or a full D1) never holds back a delivery.
 */
export const COPIED = { queue: 1, d1: 2, all: 3 } as const;

/** An event as the ledger holds it: its D1 row, the table it lives in, and where it has been copied. */
export interface LedgerRow extends EventRow {
	partition: string;
	hour: Hour;
	copied: number;
}

/** What a Worker or the drain reports for one row: the copies it made. */
export interface CopyReport {
	partition: string;
	messageId: string;
	id: string;
	copied: number;
}

/** A row for the outbox: where it lives, and the copies it still needs. */
export type OutboxKey = Pick<CopyReport, "partition" | "messageId" | "id"> & { missing: number };

export type HourPageRow = { message_id: string; id: string; body: string };

/** What an erasure took out of a ledger. */
export interface MessagesErased {
	/** Events deleted from the day tables. */
	rows: number;
	/** Outbox entries deleted with them. */
	outbox: number;
	eventIds: string[];
	/** The archive hours those events were filed under. */
	hours: Hour[];
}

type Meta = Omit<EventRow, "id" | "message_id" | "sequence" | "normalized_json">;

type StoredRow = {
	message_id: string;
	id: string;
	sequence: number;
	state: number;
	hour: string;
	meta: string;
	body: string;
};

/*
 * Rows never change once written except for `state`, and the fast path writes each row twice in
 * all: the insert on accept and one state update when the Worker reports. No secondary index: an
 * index entry is one more row written per insert, and nothing looks rows up except by their key.
 */
const PARTITION_SCHEMA = (name: string) => `
CREATE TABLE IF NOT EXISTS ${name} (
  message_id TEXT NOT NULL,
  id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  state INTEGER NOT NULL,
  accepted_at INTEGER NOT NULL,
  hour TEXT NOT NULL,
  meta TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (message_id, id)
) WITHOUT ROWID`;

/**
 * Rows the ledger's own alarm must copy out: written only when the fast path did not finish (a
 * target backing off, a failed copy, a Worker that never reported), so the normal path costs nothing here.
 */
const BASE_SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  message_id TEXT NOT NULL,
  id TEXT NOT NULL,
  partition TEXT NOT NULL,
  missing INTEGER NOT NULL,          -- COPIED bits still to make: each target drains on its own
  PRIMARY KEY (message_id, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`;

/**
 * Quarantine rows D1 refused when their callback came in: held here, so the callback still gets
 * its 200, until the alarm gets them into D1. Empty in the normal path.
 */
const QUARANTINE_SCHEMA = `
CREATE TABLE IF NOT EXISTS quarantine_outbox (
  id TEXT PRIMARY KEY,
  row TEXT NOT NULL
)`;

function rowOf(partition: string, stored: StoredRow): LedgerRow {
	const meta = JSON.parse(stored.meta) as Meta;
	return {
		...meta,
		id: stored.id,
		message_id: stored.message_id,
		sequence: stored.sequence,
		normalized_json: stored.body,
		partition,
		hour: stored.hour,
		copied: stored.state,
	};
}

export class LedgerStore {
	readonly #sql: SqlStorage;
	#partitions: string[];
	#hasBase: boolean;
	#hasQuarantine: boolean;

	constructor(sql: SqlStorage) {
		this.#sql = sql;
		const tables = this.#all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").map(
			(row) => row.name,
		);
		this.#partitions = tables.filter((name) => name.startsWith("p_")).sort();
		this.#hasBase = tables.includes("outbox");
		this.#hasQuarantine = tables.includes("quarantine_outbox");
	}

	#all<T extends Record<string, SqlStorageValue>>(query: string, ...params: SqlStorageValue[]): T[] {
		const cursor = this.#sql.exec<T>(query, ...params);
		const rows = cursor.toArray();
		meter.sql(cursor);
		return rows;
	}

	#run(query: string, ...params: SqlStorageValue[]): void {
		this.#all(query, ...params);
	}

	/** Partition names, oldest first. */
	get partitions(): readonly string[] {
		return this.#partitions;
	}

	#ensureBase(): void {
		if (this.#hasBase) return;
		this.#run(BASE_SCHEMA);
		this.#hasBase = true;
	}

	#ensurePartition(name: string): void {
		if (this.#partitions.includes(name)) return;
		this.#ensureBase();
		this.#run(PARTITION_SCHEMA(name));
		this.#partitions = [...this.#partitions, name].sort();
	}

	seen(messageId: string, id: string): boolean {
		return this.#partitions.some(
			(name) => this.#all(`SELECT 1 AS hit FROM ${name} WHERE message_id = ? AND id = ?`, messageId, id).length > 0,
		);
	}

	nextSequence(messageId: string): number {
		let max = 0;
		for (const name of this.#partitions) {
			const [row] = this.#all<{ max: number | null }>(
				`SELECT max(sequence) AS max FROM ${name} WHERE message_id = ?`,
				messageId,
			);
			max = Math.max(max, row?.max ?? 0);
		}
		return max + 1;
	}

	append(entry: LedgerEntry, sequence: number, hour: Hour, now: number): LedgerRow {
		const partition = partitionOf(hour);
		this.#ensurePartition(partition);
		const body = withSequence(entry.normalized_json, sequence);
		const { id, message_id, normalized_json: _, ...meta } = entry;
		this.#run(
			`INSERT INTO ${partition} (message_id, id, sequence, state, accepted_at, hour, meta, body)
			 VALUES (?, ?, ?, 0, ?, ?, ?, ?)`,
			message_id,
			id,
			sequence,
			now,
			hour,
			JSON.stringify(meta),
			body,
		);
		return { ...entry, sequence, normalized_json: body, partition, hour, copied: 0 };
	}

	/** Records copies made; a row still missing one goes to the outbox for the ledger's own drain. Returns those. */
	record(reports: readonly CopyReport[]): number {
		let incomplete = 0;
		for (const report of reports) {
			if (!this.#partitions.includes(report.partition)) continue;
			const [row] = this.#all<{ state: number }>(
				`UPDATE ${report.partition} SET state = state | ? WHERE message_id = ? AND id = ? RETURNING state`,
				report.copied,
				report.messageId,
				report.id,
			);
			if (row === undefined) continue;
			if (row.state === COPIED.all) {
				this.#run("DELETE FROM outbox WHERE message_id = ? AND id = ?", report.messageId, report.id);
			} else {
				incomplete += 1;
				this.toOutbox([{ ...report, missing: COPIED.all & ~row.state }]);
			}
		}
		return incomplete;
	}

	toOutbox(rows: readonly OutboxKey[]): void {
		if (rows.length === 0) return;
		this.#ensureBase();
		for (const row of rows) {
			this.#run(
				`INSERT INTO outbox (message_id, id, partition, missing) VALUES (?, ?, ?, ?)
				 ON CONFLICT (message_id, id) DO UPDATE SET missing = excluded.missing`,
				row.messageId,
				row.id,
				row.partition,
				row.missing,
			);
		}
	}

	outboxSize(): number {
		if (!this.#hasBase) return 0;
		return this.#all<{ n: number }>("SELECT count(*) AS n FROM outbox")[0]?.n ?? 0;
	}

	/** Whether any outbox row still needs this copy (COPIED bit). */
	outboxNeeds(target: number): boolean {
		if (!this.#hasBase) return false;
		return this.#all("SELECT 1 AS hit FROM outbox WHERE missing & ? != 0 LIMIT 1", target).length > 0;
	}

	/**
	 * The outbox's rows that still need `target`, oldest table first, at most `maxRows` and about
	 * `maxChars` of JSON. Per target, so rows waiting for D1 never stand in front of a forward.
	 */
	outbox(target: number, maxRows: number, maxChars: number): LedgerRow[] {
		if (!this.#hasBase) return [];
		const keys = this.#all<{ message_id: string; id: string; partition: string }>(
			"SELECT message_id, id, partition FROM outbox WHERE missing & ? != 0 ORDER BY partition, message_id LIMIT ?",
			target,
			maxRows,
		);
		const rows: LedgerRow[] = [];
		let chars = 0;
		for (const key of keys) {
			const row = this.#get(key.partition, key.message_id, key.id);
			if (row === null) {
				this.#run("DELETE FROM outbox WHERE message_id = ? AND id = ?", key.message_id, key.id);
				continue;
			}
			if (rows.length > 0 && chars + row.normalized_json.length > maxChars) break;
			chars += row.normalized_json.length;
			rows.push(row);
		}
		return rows.sort((a, b) => a.message_id.localeCompare(b.message_id) || a.sequence - b.sequence);
	}

	#get(partition: string, messageId: string, id: string): LedgerRow | null {
		if (!this.#partitions.includes(partition)) return null;
		const [stored] = this.#all<StoredRow>(
			`SELECT message_id, id, sequence, state, hour, meta, body FROM ${partition} WHERE message_id = ? AND id = ?`,
			messageId,
			id,
		);
		return stored === undefined ? null : rowOf(partition, stored);
	}

	/** The forwarded CloudEvent of a stored event; null once the ledger has forgotten it. */
	body(messageId: string, id: string): string | null {
		for (const name of this.#partitions) {
			const [row] = this.#all<{ body: string }>(
				`SELECT body FROM ${name} WHERE message_id = ? AND id = ?`,
				messageId,
				id,
			);
			if (row !== undefined) return row.body;
		}
		return null;
	}

	/**
	 * Erasure: deletes every row of these messages from every day table and from the outbox.
	 * Answers the ids of the events it deleted and the archive hours they were filed under.
	 */
	erase(messageIds: readonly string[]): MessagesErased {
		const erased: MessagesErased = { rows: 0, outbox: 0, eventIds: [], hours: [] };
		const hours = new Set<Hour>();
		for (const messageId of messageIds) {
			for (const name of this.#partitions) {
				const rows = this.#all<{ id: string; hour: string }>(
					`DELETE FROM ${name} WHERE message_id = ? RETURNING id, hour`,
					messageId,
				);
				for (const row of rows) {
					erased.eventIds.push(row.id);
					hours.add(row.hour);
				}
			}
			if (this.#hasBase) {
				erased.outbox += this.#all("DELETE FROM outbox WHERE message_id = ? RETURNING id", messageId).length;
			}
		}
		erased.rows = erased.eventIds.length;
		erased.hours = [...hours].sort();
		return erased;
	}

	/**
	 * Rows accepted at or before `acceptedBefore` that are neither fully copied nor in the outbox:
	 * handoffs nobody reported on. Only the given partitions are read (a handoff is recent by nature).
	 */
	unreported(partitions: readonly string[], acceptedBefore: number): OutboxKey[] {
		const reports: OutboxKey[] = [];
		for (const name of partitions.filter((partition) => this.#partitions.includes(partition))) {
			const rows = this.#all<{ message_id: string; id: string; state: number }>(
				`SELECT message_id, id, state FROM ${name} p WHERE state != ? AND accepted_at <= ?
				   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = p.message_id AND o.id = p.id)`,
				COPIED.all,
				acceptedBefore,
			);
			for (const row of rows) {
				reports.push({ partition: name, messageId: row.message_id, id: row.id, missing: COPIED.all & ~row.state });
			}
		}
		return reports;
	}

	/**
	 * One page of an archive hour's events in key order, after `after`. Key order is stable and
	 * walks the clustered table once across all pages, however many there are.
	 */
	hourPage(hour: Hour, after: readonly [messageId: string, id: string] | null, limit: number): HourPageRow[] {
		const partition = partitionOf(hour);
		if (!this.#partitions.includes(partition)) return [];
		if (after === null) {
			return this.#all<HourPageRow>(
				`SELECT message_id, id, body FROM ${partition} WHERE hour = ? ORDER BY message_id, id LIMIT ?`,
				hour,
				limit,
			);
		}
		return this.#all<HourPageRow>(
			`SELECT message_id, id, body FROM ${partition} WHERE (message_id, id) > (?, ?) AND hour = ?
			 ORDER BY message_id, id LIMIT ?`,
			after[0],
			after[1],
			hour,
			limit,
		);
	}

	oldestHour(): Hour | null {
		const oldest = this.#partitions[0];
		if (oldest === undefined) return null;
		return this.#all<{ hour: string | null }>(`SELECT min(hour) AS hour FROM ${oldest}`)[0]?.hour ?? null;
	}

	/** True while a row of the partition still waits in the outbox. */
	hasOutbox(partition: string): boolean {
		if (!this.#hasBase) return false;
		return this.#all("SELECT 1 AS hit FROM outbox WHERE partition = ? LIMIT 1", partition).length > 0;
	}

	drop(partition: string): void {
		if (!this.#partitions.includes(partition)) return;
		this.#run(`DROP TABLE ${partition}`);
		this.#partitions = this.#partitions.filter((name) => name !== partition);
	}

	holdQuarantine(rows: readonly NewQuarantineRow[]): void {
		if (rows.length === 0) return;
		if (!this.#hasQuarantine) {
			this.#run(QUARANTINE_SCHEMA);
			this.#hasQuarantine = true;
		}
		for (const row of rows) {
			this.#run(
				"INSERT INTO quarantine_outbox (id, row) VALUES (?, ?) ON CONFLICT DO NOTHING",
				row.id,
				JSON.stringify(row),
			);
		}
	}

	/** Held quarantine rows, at most `maxRows` and about `maxChars` of JSON. */
	heldQuarantine(maxRows: number, maxChars: number): NewQuarantineRow[] {
		if (!this.#hasQuarantine) return [];
		const rows: NewQuarantineRow[] = [];
		let chars = 0;
		for (const { row } of this.#all<{ row: string }>(
			"SELECT row FROM quarantine_outbox ORDER BY id LIMIT ?",
			maxRows,
		)) {
			if (rows.length > 0 && chars + row.length > maxChars) break;
			chars += row.length;
			rows.push(JSON.parse(row) as NewQuarantineRow);
		}
		return rows;
	}

	releaseQuarantine(ids: readonly string[]): void {
		if (ids.length === 0 || !this.#hasQuarantine) return;
		this.#run("DELETE FROM quarantine_outbox WHERE id IN (SELECT value FROM json_each(?))", JSON.stringify(ids));
	}

	getMeta(key: string): string | null {
		if (!this.#hasBase) return null;
		return this.#all<{ value: string }>("SELECT value FROM ledger_meta WHERE key = ?", key)[0]?.value ?? null;
	}

	setMeta(key: string, value: string): void {
		this.#ensureBase();
		this.#run(
			"INSERT INTO ledger_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			key,
			value,
		);
	}
}
