import { type EventRow, withSequence } from "../db/events.repository";

/** What the Worker hands a ledger: a D1 row waiting for its sequence. */
export type LedgerEntry = Omit<EventRow, "sequence">;

/**
 * Where a row stands in the outbox. A handed-off row is being copied out by the Worker that
 * delivered it; if that Worker does not report back in time, the ledger reclaims it.
 */
export const ROW_STATE = { pending: 0, drained: 1, handedOff: 2 } as const;
type RowState = (typeof ROW_STATE)[keyof typeof ROW_STATE];

/*
 * One table per message. A row is the event's identity (the de-duplication memory), its sequence,
 * and, until drained, the outbox copy of its D1 row.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  sequence INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  message_id TEXT NOT NULL,
  type TEXT NOT NULL,
  direction TEXT,
  recipient TEXT NOT NULL,
  from_number TEXT,
  owner TEXT,
  application_id TEXT,
  error_code INTEGER,
  event_time TEXT NOT NULL,
  received_at TEXT NOT NULL,
  status TEXT,
  status_rank INTEGER,
  normalized_json TEXT,
  state INTEGER NOT NULL,
  handed_off_at INTEGER
)`;

type PendingRow = EventRow & Record<string, SqlStorageValue>;

export interface LedgerSnapshot {
	nextSequence: number;
	/** Rows waiting for the ledger's own drain. */
	pending: number;
	/** When the oldest row still handed off was handed off; null if none is. */
	oldestHandoff: number | null;
	/** When the newest event was accepted; null once the ledger holds nothing. */
	lastAcceptedAt: number | null;
}

export class LedgerStore {
	readonly #sql: SqlStorage;
	/**
	 * The table is created by the first accept, not on construction: a ledger that has cleared
	 * itself must hold no storage at all, or every message ever seen would stay billed.
	 */
	#hasTable: boolean;

	constructor(sql: SqlStorage) {
		this.#sql = sql;
		this.#hasTable =
			sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").toArray().length > 0;
	}

	#ensureTable(): void {
		if (this.#hasTable) return;
		this.#sql.exec(SCHEMA);
		this.#hasTable = true;
	}

	/** Everything the ledger decides on, in one pass over its (small) table. */
	snapshot(): LedgerSnapshot {
		if (!this.#hasTable) return { nextSequence: 1, pending: 0, oldestHandoff: null, lastAcceptedAt: null };
		const row = this.#sql
			.exec<{ next: number; pending: number; oldest: number | null; last: string | null }>(
				`SELECT coalesce(max(sequence), 0) + 1 AS next, coalesce(sum(state = ?), 0) AS pending,
				   min(CASE WHEN state = ? THEN handed_off_at END) AS oldest, max(received_at) AS last
				 FROM events`,
				ROW_STATE.pending,
				ROW_STATE.handedOff,
			)
			.one();
		return {
			nextSequence: row.next,
			pending: row.pending,
			oldestHandoff: row.oldest,
			lastAcceptedAt: row.last === null ? null : Date.parse(row.last),
		};
	}

	/** Appends the entry under `sequence` and returns its D1 row; null if the id was accepted before. */
	append(entry: LedgerEntry, sequence: number, state: RowState, now: number): EventRow | null {
		this.#ensureTable();
		const normalizedJson = withSequence(entry.normalized_json, sequence);
		const inserted = this.#sql
			.exec(
				`INSERT INTO events (sequence, id, message_id, type, direction, recipient, from_number, owner,
				   application_id, error_code, event_time, received_at, status, status_rank, normalized_json,
				   state, handed_off_at)
				 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				 ON CONFLICT (id) DO NOTHING RETURNING sequence`,
				sequence,
				entry.id,
				entry.message_id,
				entry.type,
				entry.direction,
				entry.recipient,
				entry.from_number,
				entry.owner,
				entry.application_id,
				entry.error_code,
				entry.event_time,
				entry.received_at,
				entry.status,
				entry.status_rank,
				normalizedJson,
				state,
				state === ROW_STATE.handedOff ? now : null,
			)
			.toArray();
		if (inserted.length === 0) return null;
		return { ...entry, sequence, normalized_json: normalizedJson };
	}

	/** Takes back rows whose Worker never reported, so the ledger's own drain copies them out. */
	reclaimHandoffs(handedOffBefore: number): void {
		if (!this.#hasTable) return;
		this.#sql.exec(
			"UPDATE events SET state = ?, handed_off_at = NULL WHERE state = ? AND handed_off_at <= ?",
			ROW_STATE.pending,
			ROW_STATE.handedOff,
			handedOffBefore,
		);
	}

	/** Handed-off rows the Worker could not copy out go back to the ledger's own drain. */
	release(sequences: readonly number[]): void {
		this.#update(sequences, `state = ${ROW_STATE.pending}, handed_off_at = NULL`, ROW_STATE.handedOff);
	}

	/** The oldest pending rows, in sequence order, at most `maxRows` and about `maxChars` of JSON. */
	pending(maxRows: number, maxChars: number): EventRow[] {
		if (!this.#hasTable) return [];
		const sizes = this.#sql
			.exec<{ sequence: number; size: number }>(
				"SELECT sequence, length(normalized_json) AS size FROM events WHERE state = ? ORDER BY sequence LIMIT ?",
				ROW_STATE.pending,
				maxRows,
			)
			.toArray();
		let last = -1;
		let total = 0;
		for (const { sequence, size } of sizes) {
			if (last !== -1 && total + size > maxChars) break;
			total += size;
			last = sequence;
		}
		if (last === -1) return [];
		return this.#sql
			.exec<PendingRow>(
				`SELECT id, message_id, sequence, type, direction, recipient, from_number, owner, application_id,
				   error_code, event_time, received_at, status, status_rank, normalized_json
				 FROM events WHERE state = ? AND sequence <= ? ORDER BY sequence`,
				ROW_STATE.pending,
				last,
			)
			.toArray();
	}

	/** The body has reached D1 and the queue; the row stays as the memory of the id. */
	markDrained(sequences: readonly number[]): void {
		this.#update(sequences, `state = ${ROW_STATE.drained}, handed_off_at = NULL, normalized_json = NULL`);
	}

	#update(sequences: readonly number[], assignments: string, onlyInState?: RowState): void {
		if (sequences.length === 0 || !this.#hasTable) return;
		// One JSON parameter, not one per row: a query binds at most 100, and a callback may bring more.
		const stateGuard = onlyInState === undefined ? "" : ` AND state = ${onlyInState}`;
		this.#sql.exec(
			`UPDATE events SET ${assignments} WHERE sequence IN (SELECT value FROM json_each(?))${stateGuard}`,
			JSON.stringify(sequences),
		);
	}
}
