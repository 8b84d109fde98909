import { env } from "cloudflare:workers";
import {
	attemptDays,
	createAttemptsTable,
	dropAttemptsDay,
	insertFirstTries as insertFirstTriesStatements,
} from "../../src/db/attempts.repository";
import type { DeliveryOutcome } from "../../src/db/delivery-outcomes";
import {
	batchIntoEventTables,
	dayTableOf,
	eventTableOf,
	forgetEventTable,
	LEGACY_EVENTS_TABLE,
	listEventTables,
} from "../../src/db/event-tables";

/*
 * Rows written straight into D1, for the maintenance jobs: they act on what D1 holds, whatever
 * path put it there, and their tests need times (old, unarchived, late) no callback produces.
 */

export interface EventRowInput {
	eventTime: string;
	/** Defaults to the event time; its quarter (or day) is the table the row goes to. */
	receivedAt?: string;
	/** Padding inside the CloudEvent, to make D1 grow. */
	bodyBytes?: number;
	/** `day`: into its day's table, as a relay deployed before quarter tables wrote it. */
	layout?: "day";
}

let counter = 0;

/**
 * Inserts the events into the quarter tables of their receipt (or day tables: `layout`), each of its own message (`msg-<id>`),
 * and answers their ids, in input order. Ids grow with the input, so within a table key order is
 * input order.
 */
export async function insertEventRows(rows: readonly EventRowInput[]): Promise<string[]> {
	const ids = rows.map(() => {
		counter += 1;
		return `evt_${String(counter).padStart(6, "0")}${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
	});
	const statements = rows.map((row, i) => {
		const id = ids[i] ?? "";
		const json = JSON.stringify({
			id,
			time: row.eventTime,
			data: { bandwidth: { pad: "x".repeat(row.bodyBytes ?? 0) } },
		});
		const quarter = eventTableOf(row.receivedAt ?? row.eventTime);
		const table = row.layout === "day" ? dayTableOf(quarter) : quarter;
		const statement = env.DB.prepare(
			`INSERT INTO ${table} (id, message_id, sequence, type, direction, recipient, event_time, received_at,
			   status, status_rank, event_gz)
			 VALUES (?1, ?2, 1, 'bandwidth.message.received', 'inbound', '+15550001111', ?3, ?4, 'received', 1, ?5)`,
		).bind(id, `msg-${id}`, row.eventTime, row.receivedAt ?? row.eventTime, json);
		return { table, statement };
	});
	for (let start = 0; start < statements.length; start += 50) {
		const group = statements.slice(start, start + 50);
		await batchIntoEventTables(
			env.DB,
			new Set(group.map((row) => row.table)),
			group.map((row) => row.statement),
		);
	}
	return ids;
}

/** Rows written into the legacy `events` table, as a deployment from before migration 0006 holds them. */
export async function insertLegacyEventRows(rows: readonly EventRowInput[]): Promise<string[]> {
	await ensureLegacyTable();
	const ids = rows.map(() => {
		counter += 1;
		return `evt_${String(counter).padStart(6, "0")}${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
	});
	await env.DB.batch(
		rows.map((row, i) =>
			env.DB.prepare(
				`INSERT INTO events (id, message_id, sequence, type, direction, recipient, event_time, received_at,
				   status, status_rank, event_gz)
				 VALUES (?1, ?2, 1, 'bandwidth.message.received', 'inbound', '+15550001111', ?3, ?4, 'received', 1, ?5)`,
			).bind(
				ids[i],
				`msg-${ids[i]}`,
				row.eventTime,
				row.receivedAt ?? row.eventTime,
				JSON.stringify({ id: ids[i], time: row.eventTime, data: { bandwidth: {} } }),
			),
		),
	);
	return ids;
}

/** The legacy table as migrations 0002 and 0005 left it (retention drops it once empty). */
export async function ensureLegacyTable(): Promise<void> {
	await env.DB.batch([
		env.DB.prepare(
			`CREATE TABLE IF NOT EXISTS events (
			   id TEXT NOT NULL PRIMARY KEY, message_id TEXT NOT NULL, sequence INTEGER NOT NULL, type TEXT NOT NULL,
			   direction TEXT, recipient TEXT NOT NULL, from_number TEXT, owner TEXT, application_id TEXT,
			   error_code INTEGER, event_time TEXT NOT NULL, received_at TEXT NOT NULL, status TEXT, status_rank INTEGER,
			   event_gz BLOB NOT NULL, destinations TEXT) WITHOUT ROWID`,
		),
		env.DB.prepare("CREATE INDEX IF NOT EXISTS events_message_sequence ON events (message_id, sequence)"),
		env.DB.prepare("CREATE INDEX IF NOT EXISTS events_time ON events (event_time)"),
	]);
}

/** `message_id` defaults to the `msg-<id>` insertEventRows gives each event. */
export async function insertDeliveryRow(
	eventId: string,
	outcome: DeliveryOutcome,
	at: string,
	messageId = `msg-${eventId}`,
): Promise<void> {
	await env.DB.prepare(
		`INSERT INTO deliveries (event_id, attempt, outcome, http_status, error, duration_ms, at, message_id)
		 VALUES (?1, 3, ?2, 503, NULL, 12, ?3, ?4)`,
	)
		.bind(eventId, outcome, at, messageId)
		.run();
}

/** First tries of events received at `receivedAt`, as a consumer batch files them (src/db/attempts.repository.ts). */
export async function insertFirstTries(receivedAt: string, eventIds: readonly string[]): Promise<void> {
	const firstTries = eventIds.map((eventId) => ({
		eventId,
		destination: "default",
		outcome: "delivered" as const,
		httpStatus: 204,
		durationMs: 7,
		error: null,
		receivedAt,
	}));
	const { days, statements } = insertFirstTriesStatements(env.DB, firstTries, receivedAt);
	await env.DB.batch([...[...days].map((day) => createAttemptsTable(env.DB, day)), ...statements]);
}

/**
 * Event ids in the order the byte budget takes them: the legacy table by (event_time, id), then
 * each day oldest first, in key order.
 */
export async function eventIdsHeld(): Promise<string[]> {
	const ids: string[] = [];
	for (const table of await listEventTables(env.DB)) {
		const order = table === LEGACY_EVENTS_TABLE ? "event_time, id" : "message_id, id";
		const rows = await env.DB.prepare(`SELECT id FROM ${table} ORDER BY ${order}`).all<{ id: string }>();
		ids.push(...rows.results.map((row) => row.id));
	}
	return ids;
}

/** The day tables D1 holds now, oldest first. */
export async function eventTables(): Promise<string[]> {
	return (await listEventTables(env.DB)).filter((name) => name !== LEGACY_EVENTS_TABLE);
}

export async function columnOf<T>(sql: string, column: string): Promise<T[]> {
	const rows = await env.DB.prepare(sql).all<Record<string, T>>();
	return rows.results.map((row) => row[column] as T);
}

/** Tests in a file share one database: each starts from empty tables, no day table and no legacy table. */
export async function clearTables(): Promise<void> {
	const tables = await listEventTables(env.DB);
	for (const table of tables) forgetEventTable(table);
	const days = await attemptDays(env.DB);
	await env.DB.batch([
		...["deliveries", "quarantine"].map((table) => env.DB.prepare(`DELETE FROM ${table}`)),
		...tables.map((table) => env.DB.prepare(`DROP TABLE ${table}`)),
		...days.map((day) => dropAttemptsDay(env.DB, day)),
	]);
}
