import { withSequence } from "../../db/events.repository";
import { errorMessage, log } from "../../log";
import { type Hour, partitionOf } from "../partitions";
import { bodyText, eventJsonOf, eventRowOf, type StoredBody, type StoredEvent } from "./ledger-body";
import type { LedgerEntry, LedgerRow } from "./ledger-rows";
import type { LedgerSql } from "./ledger-sql";

export type HourPageRow = StoredEvent;

type StoredRow = StoredEvent & { state: number; hour: string };

/** What a message's earlier events said about each recipient, read inside the accept transaction. */
export interface RecipientStatus {
	id: string;
	sequence: number;
	recipient: string;
	status: string | null;
	status_rank: number | null;
}

/*
 * Rows never change once written except for `state`, and the fast path writes each row twice in
 * all: the insert on accept and one state update when the Worker reports. No secondary index: an
 * index entry is one more row written per insert, and nothing looks rows up except by their key.
 *
 * The body is compressed with what D1 needs inside it (./ledger-body.ts), ~520 bytes for a typical
 * event: a WITHOUT ROWID row over ~1,000 bytes spills into a whole 4 KB overflow page, and the
 * 10 GB a ledger may hold is what bounds its rate. Beside it only what SQL must read without
 * decompressing: the key, the copy state, the archive hour, each event's recipient and status
 * (a message's earlier statuses, read inside the accept transaction), and what it counted for the
 * insights (src/insights/fact-rows.ts: 11 to 24 bytes, or NULL).
 */
const DAY_TABLE_SCHEMA = (name: string) => `
CREATE TABLE IF NOT EXISTS ${name} (
  message_id TEXT NOT NULL,
  id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  state INTEGER NOT NULL,
  accepted_at INTEGER NOT NULL,
  hour TEXT NOT NULL,
  recipient TEXT NOT NULL,
  status TEXT,
  status_rank INTEGER,
  body BLOB NOT NULL,
  insight TEXT,                      -- what the event counted for the insights (src/insights/facts.ts)
  PRIMARY KEY (message_id, id)
) WITHOUT ROWID`;

/**
 * A day table from before the body held the metadata: a `meta` JSON column beside the body, and no
 * recipient or status (added, empty for its old rows, when a ledger first opens it). New rows in it
 * are written in the new format with `meta` empty; such a table is dropped after DEDUPE_DAYS.
 */
const LEGACY_COLUMN = /\bmeta TEXT\b/;
const ADDED_COLUMNS = ["recipient TEXT", "status TEXT", "status_rank INTEGER"];

/**
 * The CloudEvent of a stored row, or null for a body that cannot be decoded (logged): one damaged
 * row must not stop a drain or an archive run that would otherwise retry it forever.
 */
export async function readableJsonOf(row: StoredEvent): Promise<string | null> {
	try {
		return await eventJsonOf(row);
	} catch (error) {
		log.error("ledger_row_unreadable", { messageId: row.message_id, eventId: row.id, error: errorMessage(error) });
		return null;
	}
}

async function rowOf(partition: string, stored: StoredRow): Promise<LedgerRow | null> {
	try {
		return { ...(await eventRowOf(stored)), partition, hour: stored.hour, copied: stored.state };
	} catch (error) {
		log.error("ledger_row_unreadable", {
			messageId: stored.message_id,
			eventId: stored.id,
			error: errorMessage(error),
		});
		return null;
	}
}

/**
 * The ledger's events, one table per UTC day of their archive hour (src/ledger/partitions.ts): the
 * de-duplication memory, the copy state of each event, and the bodies the consumer and the
 * archive read.
 */
export class DayTables {
	readonly #db: LedgerSql;

	constructor(db: LedgerSql) {
		this.#db = db;
		this.#upgradeLegacy();
	}

	/** Gives a legacy day table the recipient and status columns (each ALTER is a schema change, no row). */
	#upgradeLegacy(): void {
		const legacy = this.partitions.filter(
			(name) => this.#isLegacy(name) && !/\brecipient\b/.test(this.#db.ddlOf(name) ?? ""),
		);
		if (legacy.length === 0) return;
		for (const name of legacy) {
			for (const column of ADDED_COLUMNS) this.#db.run(`ALTER TABLE ${name} ADD COLUMN ${column}`);
		}
		this.#db.refresh();
	}

	#isLegacy(partition: string): boolean {
		return LEGACY_COLUMN.test(this.#db.ddlOf(partition) ?? "");
	}

	/** The `meta` column of a legacy table; "" (this format) for the others. */
	#meta(partition: string): string {
		return this.#isLegacy(partition) ? "meta" : "'' AS meta";
	}

	/** Partition names, oldest first. */
	get partitions(): readonly string[] {
		return this.#db.tablesStartingWith("p_");
	}

	has(partition: string): boolean {
		return partition.startsWith("p_") && this.#db.has(partition);
	}

	seen(messageId: string, id: string): boolean {
		return this.partitions.some(
			(name) => this.#db.all(`SELECT 1 AS hit FROM ${name} WHERE message_id = ? AND id = ?`, messageId, id).length > 0,
		);
	}

	nextSequence(messageId: string): number {
		let max = 0;
		for (const name of this.partitions) {
			const [row] = this.#db.all<{ max: number | null }>(
				`SELECT max(sequence) AS max FROM ${name} WHERE message_id = ?`,
				messageId,
			);
			max = Math.max(max, row?.max ?? 0);
		}
		return max + 1;
	}

	append(entry: LedgerEntry, sequence: number, hour: Hour, now: number, insight: string | null = null): LedgerRow {
		const partition = partitionOf(hour);
		this.#db.create(partition, DAY_TABLE_SCHEMA(partition));
		const { normalized_json, packed, ...meta } = entry;
		const { body_gz: _legacy, ...row } = meta as typeof meta & { body_gz?: unknown };
		const body: StoredBody =
			packed === undefined
				? bodyText(entry)
				: packed.buffer.slice(packed.byteOffset, packed.byteOffset + packed.byteLength);
		const legacy = this.#isLegacy(partition);
		this.#db.run(
			`INSERT INTO ${partition} (message_id, id, sequence, state, accepted_at, hour, recipient, status, status_rank, body, insight${legacy ? ", meta" : ""})
			 VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?${legacy ? ", ''" : ""})`,
			entry.message_id,
			entry.id,
			sequence,
			now,
			hour,
			entry.recipient,
			entry.status,
			entry.status_rank,
			body,
			insight,
		);
		return { ...row, sequence, normalized_json: withSequence(normalized_json, sequence), partition, hour, copied: 0 };
	}

	/**
	 * What each earlier event of a message said about its recipient, by sequence, without
	 * decompressing a body: synchronous, for use inside the accept transaction.
	 */
	statusesOf(messageId: string): RecipientStatus[] {
		const rows = this.partitions.flatMap((name) => {
			const column = (field: string) =>
				this.#isLegacy(name) ? `CASE WHEN meta = '' THEN ${field} ELSE json_extract(meta, '$.${field}') END` : field;
			return this.#db.all<{
				id: string;
				sequence: number;
				recipient: string;
				status: string | null;
				status_rank: number | null;
			}>(
				`SELECT id, sequence, ${column("recipient")} AS recipient, ${column("status")} AS status,
				   ${column("status_rank")} AS status_rank FROM ${name} WHERE message_id = ?`,
				messageId,
			);
		});
		return rows.sort((a, b) => a.sequence - b.sequence);
	}

	/** Adds copy bits to a row's state; answers the new state, or null for a row no longer held. */
	markCopied(partition: string, messageId: string, id: string, copied: number): number | null {
		if (!this.has(partition)) return null;
		const [row] = this.#db.all<{ state: number }>(
			`UPDATE ${partition} SET state = state | ? WHERE message_id = ? AND id = ? RETURNING state`,
			copied,
			messageId,
			id,
		);
		return row?.state ?? null;
	}

	async get(partition: string, messageId: string, id: string): Promise<LedgerRow | null> {
		if (!this.has(partition)) return null;
		const [stored] = this.#db.all<StoredRow>(
			`SELECT message_id, id, sequence, state, hour, ${this.#meta(partition)}, body FROM ${partition} WHERE message_id = ? AND id = ?`,
			messageId,
			id,
		);
		return stored === undefined ? null : rowOf(partition, stored);
	}

	/** The forwarded CloudEvent of a stored event; null once the ledger has forgotten it. */
	async body(messageId: string, id: string): Promise<string | null> {
		for (const name of this.partitions) {
			const [row] = this.#db.all<{ sequence: number; meta: string; body: StoredBody }>(
				`SELECT sequence, ${this.#meta(name)}, body FROM ${name} WHERE message_id = ? AND id = ?`,
				messageId,
				id,
			);
			if (row !== undefined) return readableJsonOf({ ...row, message_id: messageId, id });
		}
		return null;
	}

	/** Deletes every event of a message; answers the ids and archive hours of what it deleted. */
	/** The message's events and when each was accepted (epoch ms), in every day table. */
	acceptedOf(messageId: string): Array<{ id: string; acceptedAt: number }> {
		return this.partitions.flatMap((name) =>
			this.#db
				.all<{ id: string; accepted_at: number }>(`SELECT id, accepted_at FROM ${name} WHERE message_id = ?`, messageId)
				.map((row) => ({ id: row.id, acceptedAt: row.accepted_at })),
		);
	}

	erase(messageId: string): Array<{ id: string; hour: Hour }> {
		return this.partitions.flatMap((name) =>
			this.#db.all<{ id: string; hour: string }>(
				`DELETE FROM ${name} WHERE message_id = ? RETURNING id, hour`,
				messageId,
			),
		);
	}

	/**
	 * One page of an archive hour's events in key order, after `after`. Key order is stable and
	 * walks the clustered table once across all pages, however many there are.
	 */
	hourPage(hour: Hour, after: readonly [messageId: string, id: string] | null, limit: number): HourPageRow[] {
		const partition = partitionOf(hour);
		if (!this.has(partition)) return [];
		if (after === null) {
			return this.#db.all<HourPageRow>(
				`SELECT message_id, id, sequence, ${this.#meta(partition)}, body FROM ${partition} WHERE hour = ?
				 ORDER BY message_id, id LIMIT ?`,
				hour,
				limit,
			);
		}
		return this.#db.all<HourPageRow>(
			`SELECT message_id, id, sequence, ${this.#meta(partition)}, body FROM ${partition}
			 WHERE (message_id, id) > (?, ?) AND hour = ?
			 ORDER BY message_id, id LIMIT ?`,
			after[0],
			after[1],
			hour,
			limit,
		);
	}

	oldestHour(): Hour | null {
		const oldest = this.partitions[0];
		if (oldest === undefined) return null;
		return this.#db.all<{ hour: string | null }>(`SELECT min(hour) AS hour FROM ${oldest}`)[0]?.hour ?? null;
	}

	/** Forgets a whole day: a DROP TABLE writes no rows. */
	drop(partition: string): void {
		if (this.has(partition)) this.#db.drop(partition);
	}
}
