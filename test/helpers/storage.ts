import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { type DeliveryRow, insertDelivery } from "../../src/db/deliveries.repository";
import { decodeEvent } from "../../src/db/event-body";
import type { EventRow } from "../../src/db/events.repository";
import type { MessageStatusRow } from "../../src/db/message-status.repository";
import { BACKGROUND_WAIT_MS } from "./wait";

/**
 * A message's D1 rows, each with its CloudEvent decoded (`normalized_json`, as forwarded) and the
 * original element (`raw_json`, its `data.bandwidth`).
 */
export async function eventsOf(messageId: string): Promise<Array<EventRow & { raw_json: string }>> {
	const rows = await env.DB.prepare("SELECT * FROM events WHERE message_id = ?1 ORDER BY sequence")
		.bind(messageId)
		.all<Omit<EventRow, "normalized_json"> & { event_gz: unknown }>();
	return Promise.all(
		rows.results.map(async ({ event_gz, ...row }) => {
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

export async function statusesOf(messageId: string): Promise<MessageStatusRow[]> {
	const rows = await env.DB.prepare("SELECT * FROM message_status WHERE message_id = ?1 ORDER BY recipient")
		.bind(messageId)
		.all<MessageStatusRow>();
	return rows.results;
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

/** Records the event as dead, as the consumer does when it gives up on it. */
export async function markDead(eventId: string): Promise<void> {
	await insertDelivery(env.DB, {
		event_id: eventId,
		destination: "default",
		attempt: 8,
		outcome: "dead",
		http_status: 503,
		error: "gave up after 8 attempts; last: HTTP 503: ",
		duration_ms: 30,
		at: new Date().toISOString(),
	}).run();
}
