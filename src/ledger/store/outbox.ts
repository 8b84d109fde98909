import type { Hour } from "../partitions";
import type { DayTables } from "./day-tables";
import { COPIED, type CopyReport, type LedgerRow, type OutboxKey } from "./ledger-rows";
import type { LedgerSql } from "./ledger-sql";

/**
 * Rows the ledger's own alarm must copy out: written only when the fast path did not finish (a
 * target backing off, a failed copy, a Worker that never reported), so the normal path costs nothing here.
 */
const OUTBOX_SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  message_id TEXT NOT NULL,
  id TEXT NOT NULL,
  partition TEXT NOT NULL,
  missing INTEGER NOT NULL,          -- COPIED bits still to make: each target drains on its own
  PRIMARY KEY (message_id, id)
) WITHOUT ROWID`;

/** The copies a ledger still owes, per event and per target (COPIED bits). */
export class Outbox {
	readonly #db: LedgerSql;
	readonly #days: DayTables;

	constructor(db: LedgerSql, days: DayTables) {
		this.#db = db;
		this.#days = days;
	}

	get #exists(): boolean {
		return this.#db.has("outbox");
	}

	#ensure(): void {
		this.#db.create("outbox", OUTBOX_SCHEMA);
	}

	/** Records copies made; a row still missing one goes to the outbox for the ledger's own drain. Returns those. */
	record(reports: readonly CopyReport[]): number {
		let incomplete = 0;
		for (const report of reports) {
			const state = this.#days.markCopied(report.partition, report.messageId, report.id, report.copied);
			if (state === null) continue;
			if (state === COPIED.all) {
				if (this.#exists) {
					this.#db.run("DELETE FROM outbox WHERE message_id = ? AND id = ?", report.messageId, report.id);
				}
			} else {
				incomplete += 1;
				this.add([{ ...report, missing: COPIED.all & ~state }]);
			}
		}
		return incomplete;
	}

	add(rows: readonly OutboxKey[]): void {
		if (rows.length === 0) return;
		this.#ensure();
		for (const row of rows) {
			this.#db.run(
				`INSERT INTO outbox (message_id, id, partition, missing) VALUES (?, ?, ?, ?)
				 ON CONFLICT (message_id, id) DO UPDATE SET missing = excluded.missing`,
				row.messageId,
				row.id,
				row.partition,
				row.missing,
			);
		}
	}

	size(): number {
		if (!this.#exists) return 0;
		return this.#db.all<{ n: number }>("SELECT count(*) AS n FROM outbox")[0]?.n ?? 0;
	}

	/** When the oldest row still waiting here was accepted; null for an empty outbox. */
	oldestAcceptedAt(): number | null {
		if (!this.#exists) return null;
		let oldest: number | null = null;
		const partitions = this.#db.all<{ partition: string }>("SELECT DISTINCT partition FROM outbox");
		for (const { partition } of partitions.filter((row) => this.#days.has(row.partition))) {
			const [row] = this.#db.all<{ at: number | null }>(
				`SELECT min(p.accepted_at) AS at FROM outbox o JOIN ${partition} p ON p.message_id = o.message_id AND p.id = o.id
				 WHERE o.partition = ?`,
				partition,
			);
			if (row?.at != null && (oldest === null || row.at < oldest)) oldest = row.at;
		}
		return oldest;
	}

	/** Whether any outbox row still needs this copy (COPIED bit). */
	needs(target: number): boolean {
		if (!this.#exists) return false;
		return this.#db.all("SELECT 1 AS hit FROM outbox WHERE missing & ? != 0 LIMIT 1", target).length > 0;
	}

	/**
	 * The outbox's rows that still need `target`, oldest table first, at most `maxRows` and about
	 * `maxChars` of JSON. Per target, so rows waiting for D1 never stand in front of a forward.
	 */
	async rows(target: number, maxRows: number, maxChars: number): Promise<LedgerRow[]> {
		if (!this.#exists) return [];
		const keys = this.#db.all<{ message_id: string; id: string; partition: string }>(
			"SELECT message_id, id, partition FROM outbox WHERE missing & ? != 0 ORDER BY partition, message_id LIMIT ?",
			target,
			maxRows,
		);
		const rows: LedgerRow[] = [];
		let chars = 0;
		for (const key of keys) {
			const row = await this.#days.get(key.partition, key.message_id, key.id);
			if (row === null) {
				this.#db.run("DELETE FROM outbox WHERE message_id = ? AND id = ?", key.message_id, key.id);
				continue;
			}
			if (rows.length > 0 && chars + row.normalized_json.length > maxChars) break;
			chars += row.normalized_json.length;
			rows.push(row);
		}
		return rows.sort((a, b) => a.message_id.localeCompare(b.message_id) || a.sequence - b.sequence);
	}

	/** Every entry's key: what has not reached all its targets. */
	keys(): OutboxKey[] {
		if (!this.#exists) return [];
		return this.#db
			.all<{ message_id: string; id: string; partition: string; missing: number }>(
				"SELECT message_id, id, partition, missing FROM outbox",
			)
			.map((row) => ({ partition: row.partition, messageId: row.message_id, id: row.id, missing: row.missing }));
	}

	/** True while a row of the partition still waits here: the day cannot be forgotten yet. */
	holds(partition: string): boolean {
		if (!this.#exists) return false;
		return this.#db.all("SELECT 1 AS hit FROM outbox WHERE partition = ? LIMIT 1", partition).length > 0;
	}

	/** Drops a message's entries (erasure); answers how many. */
	erase(messageId: string): number {
		if (!this.#exists) return 0;
		return this.#db.all("DELETE FROM outbox WHERE message_id = ? RETURNING id", messageId).length;
	}

	/**
	 * Rows accepted at or after `acceptedFrom` that are neither fully copied nor in the outbox: the
	 * handoffs a predecessor instance had yet to account for. Only the given partitions are read
	 * (a handoff is recent by nature).
	 */
	unaccounted(partitions: readonly string[], acceptedFrom: number): UnaccountedRow[] {
		const rows: UnaccountedRow[] = [];
		// Without an outbox table no row is in it.
		const notInOutbox = this.#exists
			? "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = p.message_id AND o.id = p.id)"
			: "";
		for (const name of partitions.filter((partition) => this.#days.has(partition))) {
			const found = this.#db.all<{ message_id: string; id: string; hour: string; accepted_at: number }>(
				`SELECT message_id, id, hour, accepted_at FROM ${name} p WHERE state != ? AND accepted_at >= ? ${notInOutbox}`,
				COPIED.all,
				acceptedFrom,
			);
			for (const row of found) {
				rows.push({
					partition: name,
					hour: row.hour,
					messageId: row.message_id,
					id: row.id,
					acceptedAt: row.accepted_at,
				});
			}
		}
		return rows;
	}
}

/** A row a ledger handed off and has not accounted for: where it is, and when it was accepted. */
export type UnaccountedRow = Pick<OutboxKey, "partition" | "messageId" | "id"> & { hour: Hour; acceptedAt: number };
