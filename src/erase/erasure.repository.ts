import { eraseFirstTries } from "../db/attempts.repository";
import { deleteQuarantineOfMessages } from "../db/quarantine.repository";

/*
 * Erasure's D1 statements. Events are found by message on events_message_sequence, deliveries by
 * event on deliveries_event, quarantine rows by message on quarantine_message (migrations/0004).
 * By phone number nothing is indexed: the events table is walked in chunks on events_time.
 */

export interface MessagesErasedFromD1 {
	events: number;
	deliveries: number;
	quarantine: number;
	/** When each erased event was received: the archive files it under that hour. */
	receivedAt: string[];
}

/** D1 binds at most 100 parameters; the ids travel as one JSON array instead. */
const json = (values: readonly string[]) => JSON.stringify(values);

/**
 * The four statements that remove the messages' events with their deliveries rows, and their
 * quarantined elements, whatever the number of messages: run them in one batch (one transaction),
 * in this order. `eventIds` are events D1 may lack (still in a ledger's outbox, or known only from
 * the archive) whose deliveries rows must go too.
 */
export function eraseMessagesStatements(
	db: D1Database,
	messageIds: readonly string[],
	eventIds: readonly string[] = [],
): [
	found: D1PreparedStatement,
	deliveries: D1PreparedStatement,
	events: D1PreparedStatement,
	quarantine: D1PreparedStatement,
] {
	const ofMessages = "SELECT value FROM json_each(?1)";
	return [
		db.prepare(`SELECT id, received_at FROM events WHERE message_id IN (${ofMessages})`).bind(json(messageIds)),
		db
			.prepare(
				`DELETE FROM deliveries WHERE event_id IN (
				   SELECT id FROM events WHERE message_id IN (${ofMessages}) UNION SELECT value FROM json_each(?2))`,
			)
			.bind(json(messageIds), json(eventIds)),
		db.prepare(`DELETE FROM events WHERE message_id IN (${ofMessages})`).bind(json(messageIds)),
		deleteQuarantineOfMessages(db, messageIds),
	];
}

export async function eraseMessagesFromD1(
	db: D1Database,
	messageIds: readonly string[],
	eventIds: readonly string[] = [],
): Promise<MessagesErasedFromD1> {
	const [found, deliveries, events, quarantine] = await db.batch(eraseMessagesStatements(db, messageIds, eventIds));
	const erased = (found?.results ?? []) as Array<{ id: string; received_at: string }>;
	// Their first tries are filed by receipt time, which only their rows told: found in the same batch.
	await eraseFirstTries(
		db,
		erased.map((row) => ({ id: row.id, receivedAt: row.received_at })),
	);
	return {
		events: events?.meta.changes ?? 0,
		deliveries: deliveries?.meta.changes ?? 0,
		quarantine: quarantine?.meta.changes ?? 0,
		receivedAt: erased.map((row) => row.received_at),
	};
}

/** Deliveries rows of events known only from the archive lines an erasure took out. */
export function deleteDeliveriesOfEvents(db: D1Database, eventIds: readonly string[]): D1PreparedStatement {
	return db.prepare("DELETE FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?1))").bind(json(eventIds));
}

export interface EventScanRow {
	id: string;
	event_time: string;
	message_id: string;
	/** 1 when the number is the event's sender, recipient or owner. */
	hit: number;
}

/**
 * One chunk of `events` in (event_time, id) order after `after`, each row flagged when the number
 * is its sender, recipient or owner. The chunk is read on the events_time index, then each row's
 * columns by its key: a bounded read whatever the table's size.
 */
export function scanEventsForNumber(
	db: D1Database,
	phoneNumber: string,
	after: readonly [eventTime: string, id: string],
	limit: number,
): D1PreparedStatement {
	return db
		.prepare(
			`SELECT id, event_time, message_id, (from_number = ?1 OR recipient = ?1 OR owner = ?1) AS hit
			 FROM events WHERE (event_time, id) > (?2, ?3) ORDER BY event_time, id LIMIT ?4`,
		)
		.bind(phoneNumber, after[0], after[1], limit);
}
