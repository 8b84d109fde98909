import { decodeEvent } from "../../db/event-body";
import { type EventRow, withSequence } from "../../db/events.repository";
import { errorMessage, log } from "../../log";
import { type Hour, partitionOf } from "../partitions";
import type { LedgerEntry, LedgerRow } from "./ledger-rows";
import type { LedgerSql } from "./ledger-sql";

/** A body as stored: gzip bytes without its sequence, or (rows written before that) the JSON with it. */
type StoredBody = ArrayBuffer | string;

export type HourPageRow = { message_id: string; id: string; sequence: number; body: StoredBody };

type Meta = Omit<EventRow, "id" | "message_id" | "sequence" | "normalized_json">;

type StoredRow = {
	message_id: string;
	id: string;
	sequence: number;
	state: number;
	hour: string;
	meta: string;
	body: StoredBody;
};

/*
 * Rows never change once written except for `state`, and the fast path writes each row twice in
 * all: the insert on accept and one state update when the Worker reports. No secondary index: an
 * index entry is one more row written per insert, and nothing looks rows up except by their key.
 *
 * The body is gzip (src/db/event-body.ts), ~500 bytes for a typical event: a WITHOUT ROWID row
 * over ~1 KB spills into a whole 4 KB overflow page, so 1.5 KB of text took 4.7 KB a row
 * (measured), and the 10 GB a ledger may hold is what bounds its rate. The sequence is not in the
 * stored body (it is a column); readers put it back.
 */
const DAY_TABLE_SCHEMA = (name: string) => `
CREATE TABLE IF NOT EXISTS ${name} (
  message_id TEXT NOT NULL,
  id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  state INTEGER NOT NULL,
  accepted_at INTEGER NOT NULL,
  hour TEXT NOT NULL,
  meta TEXT NOT NULL,
  body TEXT NOT NULL,
  insight TEXT,                      -- what the event counted for the insights (src/insights/facts.ts)
  PRIMARY KEY (message_id, id)
) WITHOUT ROWID`;

/** The CloudEvent of a stored body, with its sequence. */
async function eventJsonOf(body: StoredBody, sequence: number): Promise<string> {
	// A text row already holds its sequence; the placeholder could also occur inside data.bandwidth.
	if (typeof body === "string") return body;
	return withSequence(await decodeEvent(body), sequence);
}

/**
 * eventJsonOf, or null for a body that cannot be decoded (logged): one damaged row must not stop
 * a drain or an archive run that would otherwise retry it forever.
 */
export async function readableJsonOf(row: { message_id: string; id: string; sequence: number; body: StoredBody }) {
	try {
		return await eventJsonOf(row.body, row.sequence);
	} catch (error) {
		log.error("ledger_row_unreadable", { messageId: row.message_id, eventId: row.id, error: errorMessage(error) });
		return null;
	}
}

async function rowOf(partition: string, stored: StoredRow): Promise<LedgerRow | null> {
	const meta = JSON.parse(stored.meta) as Meta;
	const json = await readableJsonOf(stored);
	if (json === null) return null;
	return {
		...meta,
		id: stored.id,
		message_id: stored.message_id,
		sequence: stored.sequence,
		normalized_json: json,
		partition,
		hour: stored.hour,
		copied: stored.state,
	};
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
		const body = withSequence(entry.normalized_json, sequence);
		const { id, message_id, normalized_json: _, body_gz, ...meta } = entry;
		const stored: StoredBody =
			body_gz === undefined ? body : body_gz.buffer.slice(body_gz.byteOffset, body_gz.byteOffset + body_gz.byteLength);
		this.#db.run(
			`INSERT INTO ${partition} (message_id, id, sequence, state, accepted_at, hour, meta, body, insight)
			 VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?)`,
			message_id,
			id,
			sequence,
			now,
			hour,
			JSON.stringify(meta),
			stored,
			insight,
		);
		return { ...meta, id, message_id, sequence, normalized_json: body, partition, hour, copied: 0 };
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
			`SELECT message_id, id, sequence, state, hour, meta, body FROM ${partition} WHERE message_id = ? AND id = ?`,
			messageId,
			id,
		);
		return stored === undefined ? null : rowOf(partition, stored);
	}

	/** The forwarded CloudEvent of a stored event; null once the ledger has forgotten it. */
	async body(messageId: string, id: string): Promise<string | null> {
		for (const name of this.partitions) {
			const [row] = this.#db.all<{ sequence: number; body: StoredBody }>(
				`SELECT sequence, body FROM ${name} WHERE message_id = ? AND id = ?`,
				messageId,
				id,
			);
			if (row !== undefined) return readableJsonOf({ ...row, message_id: messageId, id });
		}
		return null;
	}

	/** Deletes every event of a message; answers the ids and archive hours of what it deleted. */
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
				`SELECT message_id, id, sequence, body FROM ${partition} WHERE hour = ? ORDER BY message_id, id LIMIT ?`,
				hour,
				limit,
			);
		}
		return this.#db.all<HourPageRow>(
			`SELECT message_id, id, sequence, body FROM ${partition} WHERE (message_id, id) > (?, ?) AND hour = ?
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
