import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { type DeliveryRow, insertDelivery } from "../../src/db/deliveries.repository";
import { decodeEvent } from "../../src/db/event-body";
import { readMessageEvents } from "../../src/db/event-list.repository";
import { EVENT_TABLE_HOURS, eventTableOf, listEventTables } from "../../src/db/event-tables";
import type { EventRow } from "../../src/db/events.repository";
import { type RecipientStatus, recipientStatuses } from "../../src/db/message-status.repository";
import { BACKGROUND_WAIT_MS } from "./wait";

/**
 * A message's D1 rows, each with its CloudEvent decoded (`normalized_json`, as forwarded) and the
 * original element (`raw_json`, its `data.bandwidth`).
 */
export async function eventsOf(messageId: string): Promise<Array<EventRow & { raw_json: string; table: string }>> {
	const rows: Array<Omit<EventRow, "normalized_json"> & { event_gz: unknown; table: string }> = [];
	for (const table of await listEventTables(env.DB)) {
		const found = await env.DB.prepare(`SELECT *, '${table}' AS "table" FROM ${table} WHERE message_id = ?1`)
			.bind(messageId)
			.all<Omit<EventRow, "normalized_json"> & { event_gz: unknown; table: string }>();
		rows.push(...found.results);
	}
	rows.sort((a, b) => a.sequence - b.sequence);
	return Promise.all(
		rows.map(async ({ event_gz, ...row }) => {
			const json = await decodeEvent(event_gz);
			return { ...row, normalized_json: json, raw_json: JSON.stringify(JSON.parse(json).data.bandwidth) };
		}),
	);
}

/** The ledger drains in the background (its alarm); wait until D1 holds `count` events of the message. */
export async function waitForEvents(
	messageId: string,
	count: number,
	timeout = BACKGROUND_WAIT_MS,
): Promise<EventRow[]> {
	return vi.waitUntil(
		async () => {
			const rows = await eventsOf(messageId);
			return rows.length >= count ? rows : undefined;
		},
		{ timeout, interval: 20 },
	);
}

/** The message's status per recipient, as GET /v1/messages/:id answers it. */
export async function statusesOf(messageId: string): Promise<RecipientStatus[]> {
	return recipientStatuses(await readMessageEvents(env.DB, messageId));
}

export async function deliveriesOf(eventId: string): Promise<DeliveryRow[]> {
	const rows = await env.DB.prepare("SELECT * FROM deliveries WHERE event_id = ?1 ORDER BY id")
		.bind(eventId)
		.all<DeliveryRow>();
	return rows.results;
}

export async function waitForDeliveries(
	eventId: string,
	count: number,
	timeout = BACKGROUND_WAIT_MS,
): Promise<DeliveryRow[]> {
	return vi.waitUntil(
		async () => {
			const rows = await deliveriesOf(eventId);
			return rows.length >= count ? rows : undefined;
		},
		{ timeout, interval: 20 },
	);
}

export async function quarantineRows(
	reasonLike = "%",
): Promise<Array<{ id: string; reason: string; raw_json: string }>> {
	const rows = await env.DB.prepare("SELECT id, reason, raw_json FROM quarantine WHERE reason LIKE ?1 ORDER BY id")
		.bind(reasonLike)
		.all<{ id: string; reason: string; raw_json: string }>();
	return rows.results;
}

/** Runs a statement against D1 and undoes it afterwards: an outage made of real SQL errors. */
export async function withTableRenamed<T>(table: string, body: () => Promise<T>): Promise<T> {
	await env.DB.exec(`ALTER TABLE ${table} RENAME TO ${table}_offline`);
	try {
		return await body();
	} finally {
		await env.DB.exec(`ALTER TABLE ${table}_offline RENAME TO ${table}`);
	}
}

/**
 * D1 refusing every event write: each event table from the current quarter on is swapped for one of the same name
 * with none of its columns, so an insert fails with a real SQL error that creating the table again
 * does not cure, and so does a lookup of a stored event. A week on, not only today: a ledger that a
 * test maintained on a later clock files new events under its next open hour, which may be days on.
 */
export async function withEventTablesBroken<T>(body: () => Promise<T>): Promise<T> {
	const now = Date.now();
	const quarter = EVENT_TABLE_HOURS * 3600_000;
	const names = Array.from({ length: 32 }, (_, n) => eventTableOf(new Date(now + n * quarter).toISOString()));
	const existing = new Set(await listEventTables(env.DB));
	for (const name of names) {
		if (existing.has(name)) await env.DB.exec(`ALTER TABLE ${name} RENAME TO offline_${name}`);
		await env.DB.exec(`CREATE TABLE ${name} (broken INTEGER)`);
	}
	try {
		return await body();
	} finally {
		for (const name of names) {
			await env.DB.exec(`DROP TABLE ${name}`);
			if (existing.has(name)) await env.DB.exec(`ALTER TABLE offline_${name} RENAME TO ${name}`);
		}
	}
}

/** Records the event as dead, as the consumer does when it gives up on it. */
export async function markDead(eventId: string): Promise<void> {
	await insertDelivery(env.DB, {
		event_id: eventId,
		message_id: (await messageOfEvent(eventId)) ?? null,
		destination: "default",
		attempt: 8,
		outcome: "dead",
		http_status: 503,
		error: "gave up after 8 attempts; last: HTTP 503: ",
		duration_ms: 30,
		at: new Date().toISOString(),
	}).run();
}

/** The message of a stored event, found by a scan (tests only). */
export async function messageOfEvent(eventId: string): Promise<string | undefined> {
	for (const table of await listEventTables(env.DB)) {
		const row = await env.DB.prepare(`SELECT message_id FROM ${table} WHERE id = ?1`)
			.bind(eventId)
			.first<{ message_id: string }>();
		if (row !== null) return row.message_id;
	}
	return undefined;
}

/**
 * Overwrites a stored event's D1 body with `bytes` in whichever table holds it (a day table, or
 * the legacy one): what a torn write or a bad manual fix would leave.
 */
export async function damageStoredBody(eventId: string, bytes: Uint8Array): Promise<void> {
	for (const table of await listEventTables(env.DB)) {
		const changed = await env.DB.prepare(`UPDATE ${table} SET event_gz = ?1 WHERE id = ?2`).bind(bytes, eventId).run();
		if (changed.meta.changes > 0) return;
	}
	throw new Error(`no D1 table holds event ${eventId}`);
}
