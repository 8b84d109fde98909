import { env } from "cloudflare:workers";
import {
	attemptDays,
	createAttemptsTable,
	dropAttemptsDay,
	insertFirstTries as insertFirstTriesStatements,
} from "../../src/db/attempts.repository";
import type { DeliveryOutcome } from "../../src/db/delivery-outcomes";

/*
 * Rows written straight into D1, for the maintenance jobs: they act on what D1 holds, whatever
 * path put it there, and their tests need times (old, unarchived, late) no callback produces.
 */

export interface EventRowInput {
	eventTime: string;
	/** Defaults to the event time. */
	receivedAt?: string;
	/** Padding inside the CloudEvent, to make D1 grow. */
	bodyBytes?: number;
}

let counter = 0;

/** Inserts the events and answers their ids, in input order. */
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
		return env.DB.prepare(
			`INSERT INTO events (id, message_id, sequence, type, direction, recipient, event_time, received_at,
			   status, status_rank, event_gz)
			 VALUES (?1, ?2, 1, 'bandwidth.message.received', 'inbound', '+15550001111', ?3, ?4, 'received', 1, ?5)`,
		).bind(id, `msg-${id}`, row.eventTime, row.receivedAt ?? row.eventTime, json);
	});
	for (let start = 0; start < statements.length; start += 50) await env.DB.batch(statements.slice(start, start + 50));
	return ids;
}

export async function insertDeliveryRow(eventId: string, outcome: DeliveryOutcome, at: string): Promise<void> {
	await env.DB.prepare(
		"INSERT INTO deliveries (event_id, attempt, outcome, http_status, error, duration_ms, at) VALUES (?1, 3, ?2, 503, NULL, 12, ?3)",
	)
		.bind(eventId, outcome, at)
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

/** Event ids oldest first, as retention and the budget walk them. */
export async function eventIdsHeld(): Promise<string[]> {
	const rows = await env.DB.prepare("SELECT id FROM events ORDER BY event_time, id").all<{ id: string }>();
	return rows.results.map((row) => row.id);
}

export async function columnOf<T>(sql: string, column: string): Promise<T[]> {
	const rows = await env.DB.prepare(sql).all<Record<string, T>>();
	return rows.results.map((row) => row[column] as T);
}

/** Tests in a file share one database: each starts from empty tables. */
export async function clearTables(): Promise<void> {
	const days = await attemptDays(env.DB);
	await env.DB.batch([
		...["events", "deliveries", "quarantine"].map((table) => env.DB.prepare(`DELETE FROM ${table}`)),
		...days.map((day) => dropAttemptsDay(env.DB, day)),
	]);
}
