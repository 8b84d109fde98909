export interface QuarantineRow {
	id: string;
	received_at: string;
	reason: string;
	raw_json: string;
	/** When it was first run through ingest again; later runs leave it. */
	reprocessed_at: string | null;
	reprocess_outcome: string | null;
	/** The event the element became (`stored`) or was already held as (`duplicate`): migrations/0004. */
	reprocess_event_id: string | null;
}

export type NewQuarantineRow = Pick<QuarantineRow, "id" | "received_at" | "reason" | "raw_json">;

/** D1 binds at most 100 parameters per statement; four per row. */
const ROWS_PER_STATEMENT = 25;

/** The same element quarantined twice (Bandwidth retrying the batch) stays one row. */
export function insertQuarantine(db: D1Database, rows: readonly NewQuarantineRow[]): D1PreparedStatement[] {
	const statements: D1PreparedStatement[] = [];
	for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
		const chunk = rows.slice(start, start + ROWS_PER_STATEMENT);
		const values = chunk.map((_, i) => `(?${i * 4 + 1}, ?${i * 4 + 2}, ?${i * 4 + 3}, ?${i * 4 + 4})`);
		statements.push(
			db
				.prepare(
					`INSERT INTO quarantine (id, received_at, reason, raw_json) VALUES ${values.join(", ")}
					 ON CONFLICT (id) DO NOTHING`,
				)
				.bind(...chunk.flatMap((row) => [row.id, row.received_at, row.reason, row.raw_json])),
		);
	}
	return statements;
}

/** What running a quarantined element through ingest again came to. */
export type ReprocessOutcome = "stored" | "duplicate" | "still_invalid";

/**
 * The element is an event held by the relay: running it again could only store it twice once its
 * ledger has forgotten it, so it is never run again. `still_invalid` may be tried after a fix.
 */
export function isFinalOutcome(outcome: string | null): outcome is "stored" | "duplicate" {
	return outcome === "stored" || outcome === "duplicate";
}

export interface QuarantineItem {
	id: string;
	receivedAt: string;
	reason: string;
	/**
	 * The element as parsed, or, when it was too large or nested too deep to store whole, a
	 * truncated form: `{"truncated":true,"jsonBytes":n,"jsonPrefix":"…"}` or nesting cut at 32 levels.
	 */
	raw: unknown;
	reprocessedAt: string | null;
	reprocessOutcome: string | null;
}

export function quarantineItemOf(row: QuarantineRow): QuarantineItem {
	return {
		id: row.id,
		receivedAt: row.received_at,
		reason: row.reason,
		raw: JSON.parse(row.raw_json),
		reprocessedAt: row.reprocessed_at,
		reprocessOutcome: row.reprocess_outcome,
	};
}

/** A listed row without its element: `raw_bytes` is the element's size, to read the rows within a byte budget. */
export type QuarantinePageRow = Pick<QuarantineRow, "id" | "received_at"> & { raw_bytes: number };

/**
 * Ordered by (received_at, id), the quarantine_received_at index; `after` is the keyset position.
 * An element may be 1.8 MB: the list answers sizes only, and readQuarantineRows the rows chosen.
 */
export async function listQuarantine(
	db: D1Database,
	after: readonly [receivedAt: string, id: string] | undefined,
	limit: number,
): Promise<QuarantinePageRow[]> {
	const columns = "SELECT id, received_at, length(CAST(raw_json AS BLOB)) AS raw_bytes FROM quarantine";
	const statement =
		after === undefined
			? db.prepare(`${columns} ORDER BY received_at, id LIMIT ?1`).bind(limit)
			: db
					.prepare(`${columns} WHERE (received_at, id) > (?1, ?2) ORDER BY received_at, id LIMIT ?3`)
					.bind(after[0], after[1], limit);
	return (await statement.all<QuarantinePageRow>()).results;
}

/** Whole rows by id; an id no longer held is absent. */
export async function readQuarantineRows(db: D1Database, ids: readonly string[]): Promise<Map<string, QuarantineRow>> {
	if (ids.length === 0) return new Map();
	const rows = await db
		.prepare("SELECT * FROM quarantine WHERE id IN (SELECT value FROM json_each(?1))")
		.bind(JSON.stringify(ids))
		.all<QuarantineRow>();
	return new Map(rows.results.map((row) => [row.id, row]));
}

export async function getQuarantine(db: D1Database, id: string): Promise<QuarantineRow | null> {
	return db.prepare("SELECT * FROM quarantine WHERE id = ?1").bind(id).first<QuarantineRow>();
}

/**
 * Records a reprocess and answers the row as it stands after. A final outcome is never replaced,
 * except `duplicate` by `stored`: two concurrent runs of one row, one of which stored the event.
 * `reprocessed_at` keeps the first run's time. One batch, so the answer is what was written.
 */
export async function markReprocessed(
	db: D1Database,
	id: string,
	at: string,
	outcome: ReprocessOutcome,
	eventId: string | null,
): Promise<QuarantineRow | null> {
	const [, row] = await db.batch<QuarantineRow>([
		db
			.prepare(
				`UPDATE quarantine
				 SET reprocessed_at = coalesce(reprocessed_at, ?2), reprocess_outcome = ?3, reprocess_event_id = ?4
				 WHERE id = ?1 AND (reprocess_outcome IS NULL OR reprocess_outcome = 'still_invalid'
				   OR (reprocess_outcome = 'duplicate' AND ?3 = 'stored'))`,
			)
			.bind(id, at, outcome, eventId),
		db.prepare("SELECT * FROM quarantine WHERE id = ?1").bind(id),
	]);
	return row?.results[0] ?? null;
}

/**
 * Retention: rows received before the cutoff, whatever became of them, oldest first on the
 * quarantine_received_at index. Quarantine is where garbage lands, and its elements hold message
 * text: they must not outlive RETENTION_DAYS any more than an event does.
 */
export function deleteQuarantineBefore(db: D1Database, cutoff: string, limit: number): D1PreparedStatement {
	return db
		.prepare(
			`DELETE FROM quarantine WHERE rowid IN (
			   SELECT rowid FROM quarantine WHERE received_at < ?1 ORDER BY received_at, id LIMIT ?2)`,
		)
		.bind(cutoff, limit);
}

/** The element's message id, spelt as the quarantine_message index is (migrations/0004). */
const QUARANTINE_MESSAGE_ID = "(CASE WHEN json_valid(raw_json) THEN json_extract(raw_json, '$.message.id') END)";

/** Erasure: the quarantined elements of these messages, found on the quarantine_message index. */
export function deleteQuarantineOfMessages(db: D1Database, messageIds: readonly string[]): D1PreparedStatement {
	return db
		.prepare(`DELETE FROM quarantine WHERE ${QUARANTINE_MESSAGE_ID} IN (SELECT value FROM json_each(?1))`)
		.bind(JSON.stringify(messageIds));
}

export interface QuarantineScanRow {
	id: string;
	received_at: string;
	/** 1 when the element holds one of the needles. */
	hit: number;
}

/**
 * One chunk of quarantine in (received_at, id) order after `after`, each row flagged when its JSON
 * holds one of `needles` (substrings). Erasure by phone number walks the table with it: no index
 * can say which garbage mentions a number, so the walk is bounded per chunk instead.
 */
export function scanQuarantine(
	db: D1Database,
	needles: readonly string[],
	after: readonly [receivedAt: string, id: string],
	limit: number,
): D1PreparedStatement {
	return db
		.prepare(
			`SELECT id, received_at,
			   EXISTS (SELECT 1 FROM json_each(?1) WHERE instr(raw_json, value) > 0) AS hit
			 FROM quarantine WHERE (received_at, id) > (?2, ?3) ORDER BY received_at, id LIMIT ?4`,
		)
		.bind(JSON.stringify(needles), after[0], after[1], limit);
}

export function deleteQuarantineIds(db: D1Database, ids: readonly string[]): D1PreparedStatement {
	return db.prepare("DELETE FROM quarantine WHERE id IN (SELECT value FROM json_each(?1))").bind(JSON.stringify(ids));
}

/** message.id of a quarantined element's JSON, when it has a string one (as QUARANTINE_MESSAGE_ID reads it in SQL). */
export function messageIdOfQuarantined(rawJson: string): string | null {
	try {
		const id = (JSON.parse(rawJson) as { message?: { id?: unknown } } | null)?.message?.id;
		// A lone surrogate cannot key a store (src/bandwidth/schemas.ts); the row's own id then does.
		return typeof id === "string" && id.isWellFormed() ? id : null;
	} catch {
		return null;
	}
}
