import { eraseFirstTries } from "../db/attempts.repository";
import { inAny, LEGACY_EVENTS_TABLE, unionsOf, withEventTables } from "../db/event-tables";
import { deleteQuarantineOfMessages } from "../db/quarantine.repository";

/*
 * Erasure's D1 statements. Events are found by message on each day table's key (the legacy table's
 * events_message_sequence), deliveries by event on deliveries_event, quarantine rows by message on
 * quarantine_message (migrations/0004). By phone number nothing is indexed: the tables are walked
 * in key order, a chunk at a time.
 */

export interface MessagesErasedFromD1 {
	events: number;
	deliveries: number;
	quarantine: number;
	/** When each erased event was received: the archive files it under that hour. */
	receivedAt: string[];
	/** The erased events D1 held: their first tries are filed under their receipt. */
	erased: Array<{ id: string; receivedAt: string }>;
	/** D1 statements it took (the event tables' list included): what the erasure's budget counts. */
	statements: number;
}

/** D1 binds at most 100 parameters; the ids travel as one JSON array instead. */
const json = (values: readonly string[]) => JSON.stringify(values);

/** The statements that remove the messages from D1; run them in one batch (one transaction), in this order. */
export interface EraseStatements {
	/** Each of their events and when it was received (one statement per group of tables). */
	found: D1PreparedStatement[];
	deliveries: D1PreparedStatement;
	/** One DELETE per event table. */
	events: D1PreparedStatement[];
	quarantine: D1PreparedStatement;
}

/**
 * The statements that remove the messages' events with their deliveries rows, and their
 * quarantined elements, whatever the number of messages. `eventIds` are events D1 may lack (still
 * in a ledger's outbox, or known only from the archive) whose deliveries rows must go too.
 */
export function eraseMessagesStatements(
	db: D1Database,
	tables: readonly string[],
	messageIds: readonly string[],
	eventIds: readonly string[] = [],
): EraseStatements {
	const ofMessages = "SELECT value FROM json_each(?1)";
	const idsOf = (table: string) => `SELECT id FROM ${table} WHERE message_id IN (${ofMessages})`;
	return {
		found: unionsOf(tables, (table) => `SELECT id, received_at FROM ${table} WHERE message_id IN (${ofMessages})`).map(
			(union) => db.prepare(union).bind(json(messageIds)),
		),
		deliveries: db
			.prepare(
				`DELETE FROM deliveries WHERE ${inAny("event_id", tables, idsOf)} OR event_id IN (SELECT value FROM json_each(?2))`,
			)
			.bind(json(messageIds), json(eventIds)),
		events: tables.map((table) =>
			db.prepare(`DELETE FROM ${table} WHERE message_id IN (${ofMessages})`).bind(json(messageIds)),
		),
		quarantine: deleteQuarantineOfMessages(db, messageIds),
	};
}

/** Runs eraseMessagesStatements as one batch and sums what they did. */
export async function runEraseStatements(db: D1Database, statements: EraseStatements): Promise<MessagesErasedFromD1> {
	const { found, deliveries, events, quarantine } = statements;
	const results = await db.batch([...found, deliveries, ...events, quarantine]);
	const meta = (index: number) => results[index]?.meta.changes ?? 0;
	const erasedRows = results
		.slice(0, found.length)
		.flatMap((result) => result.results as Array<{ id: string; received_at: string }>);
	let erased = 0;
	for (let index = found.length + 1; index < found.length + 1 + events.length; index += 1) erased += meta(index);
	return {
		events: erased,
		deliveries: meta(found.length),
		quarantine: meta(results.length - 1),
		receivedAt: erasedRows.map((row) => row.received_at),
		erased: erasedRows.map((row) => ({ id: row.id, receivedAt: row.received_at })),
		statements: results.length + 1,
	};
}

/**
 * Where the first tries of events a ledger held are filed: their receipt came at most seconds
 * before their acceptance, so the minute of that and the one before it.
 */
export function acceptedFiles(
	accepted: ReadonlyArray<{ id: string; acceptedAt: number }>,
): Array<{ id: string; receivedAt: string }> {
	return accepted.flatMap(({ id, acceptedAt }) =>
		[acceptedAt, acceptedAt - 60_000].map((at) => ({ id, receivedAt: new Date(at).toISOString() })),
	);
}

/**
 * `archived` are events of the messages known from the archive (with their data.receivedAt),
 * whose first tries must go too.
 */
export async function eraseMessagesFromD1(
	db: D1Database,
	messageIds: readonly string[],
	eventIds: readonly string[] = [],
	archived: ReadonlyArray<{ id: string; receivedAt: string | null }> = [],
): Promise<MessagesErasedFromD1> {
	const fromArchive = archived.flatMap(({ id, receivedAt }) => (receivedAt === null ? [] : [{ id, receivedAt }]));
	let firstTryStatements = 0;
	const d1 = await withEventTables(db, async (tables) => {
		const statements = eraseMessagesStatements(db, tables, messageIds, eventIds);
		// First tries are filed by receipt time, which only the events' rows tell: they go first,
		// while the rows are there, so that a call failing after this finds the events again when
		// it is repeated (found by the fault simulation, seed 22005: the rows went first, then the
		// first tries' statement failed, and the repeated call could no longer file them).
		// No event table at all (retention or the budget dropped them): D1 refuses an empty batch.
		const found = (statements.found.length === 0 ? [] : await db.batch(statements.found)).flatMap(
			(result) => result.results as Array<{ id: string; received_at: string }>,
		);
		const inD1 = found.map((row) => ({ id: row.id, receivedAt: row.received_at }));
		firstTryStatements = statements.found.length + (await eraseFirstTries(db, [...inD1, ...fromArchive])).statements;
		return runEraseStatements(db, statements);
	});
	return { ...d1, statements: d1.statements + firstTryStatements };
}

/** Deliveries rows of events known only from the archive lines an erasure took out. */
export function deleteDeliveriesOfEvents(db: D1Database, eventIds: readonly string[]): D1PreparedStatement {
	return db.prepare("DELETE FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?1))").bind(json(eventIds));
}

export interface EventScanRow {
	id: string;
	message_id: string;
	/** 1 when the number is the event's sender, recipient or owner. */
	hit: number;
}

/**
 * Where a walk of the event tables stands: the table, and the key of the last row done in it
 * (the legacy table's key is its id: `message_id` is then ""). ["", "", ""] is the start.
 */
export type TableKey = readonly [table: string, messageId: string, id: string];

/**
 * One chunk of an event table in key order after `after`, each row flagged when the number is its
 * sender, recipient or owner: a bounded read whatever the table's size.
 */
export function scanEventsForNumber(
	db: D1Database,
	table: string,
	phoneNumber: string,
	after: TableKey,
	limit: number,
): D1PreparedStatement {
	const named = "from_number = ?1 OR recipient = ?1 OR owner = ?1";
	if (table === LEGACY_EVENTS_TABLE) {
		// Rows from before the day tables have no participants column: a number only in their
		// message.to is found in the archive step (their lines carry message.to).
		return db
			.prepare(`SELECT id, message_id, (${named}) AS hit FROM ${table} WHERE id > ?2 ORDER BY id LIMIT ?3`)
			.bind(phoneNumber, after[2], limit);
	}
	const hit = `(${named} OR (participants IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(participants) WHERE value = ?1))) AS hit`;
	return db
		.prepare(
			`SELECT id, message_id, ${hit} FROM ${table} WHERE (message_id, id) > (?2, ?3) ORDER BY message_id, id LIMIT ?4`,
		)
		.bind(phoneNumber, after[1], after[2], limit);
}

/**
 * Tombstones for messages about to be erased (migrations/0009): written before anything else is
 * erased, so that a copy in flight — an event row, an attempt row — cannot land after the erasure
 * and bring the message back. One row written per message.
 */
export function tombstoneMessages(db: D1Database, messageIds: readonly string[], at: string): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO erased_messages (message_id, erased_at) SELECT value, ?2 FROM json_each(?1) WHERE true
			 ON CONFLICT (message_id) DO UPDATE SET erased_at = excluded.erased_at`,
		)
		.bind(JSON.stringify(messageIds), at);
}

/**
 * Attempt rows of erased messages made before their erasure: an erasure call that failed after a
 * ledger let go of its events (still in no D1 table) cannot name them again when it is retried,
 * but the rows carry their message id, and every row made later was refused by the tombstone (an
 * attempt never precedes its event's receipt). Each erasure call ends with it; the deliveries table
 * holds failures, retries and replays only (first tries are filed apart), so the scan is small.
 */
export function deleteErasedDeliveries(db: D1Database): D1PreparedStatement {
	return db.prepare(
		`DELETE FROM deliveries WHERE message_id IN (SELECT message_id FROM erased_messages)
		   AND at <= (SELECT erased_at FROM erased_messages AS x WHERE x.message_id = deliveries.message_id)`,
	);
}

/** Tombstones older than `cutoff` (RETENTION_DAYS): every copy in flight then has long ended. */
export function purgeTombstones(db: D1Database, cutoff: string): D1PreparedStatement {
	return db.prepare("DELETE FROM erased_messages WHERE erased_at < ?1").bind(cutoff);
}
