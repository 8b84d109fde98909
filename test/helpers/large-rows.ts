import { env } from "cloudflare:workers";
import { insertDelivery } from "../../src/db/deliveries.repository";
import { encodeEvent } from "../../src/db/event-body";
import { insertEvents } from "../../src/db/events.repository";
import { insertQuarantine } from "../../src/db/quarantine.repository";

/*
 * Rows near D1's size limit, for the admin lists' byte bound: 500 of them would be about 900 MB,
 * far past a Worker's 128 MB. Their padding is random hex, so gzip halves it and no more: the
 * stored bodies are large too, not only the decoded ones.
 */

/** Characters of padding per row: four rows fit in a page of 8 MB, five do not. */
export const LARGE_ROW_CHARS = 1_700_000;

export function randomText(chars: number): string {
	const bytes = new Uint8Array(Math.ceil(chars / 2));
	for (let start = 0; start < bytes.length; start += 65_536)
		crypto.getRandomValues(bytes.subarray(start, start + 65_536));
	return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0"))
		.join("")
		.slice(0, chars);
}

function randomId(prefix: string): string {
	return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 26)}`;
}

/**
 * Events of one message (sequence 1, 2, …) and one sender, each a CloudEvent of about
 * LARGE_ROW_CHARS, stored as the drain stores them (gzip). Answers their ids in (time, sequence) order.
 */
export async function insertLargeEvents(
	count: number,
	{ messageId, from, baseTime }: { messageId: string; from: string; baseTime: string },
): Promise<string[]> {
	const ids: string[] = [];
	for (let sequence = 1; sequence <= count; sequence += 1) {
		const id = randomId("evt");
		const time = new Date(Date.parse(baseTime) + sequence * 1000).toISOString();
		const event = {
			specversion: "1.0",
			id,
			type: "bandwidth.message.received",
			subject: messageId,
			time,
			data: { messageId, sequence, status: "received", direction: "inbound", from, text: randomText(LARGE_ROW_CHARS) },
		};
		const row = {
			id,
			message_id: messageId,
			sequence,
			type: event.type,
			direction: "inbound",
			recipient: "+15550009999",
			from_number: from,
			owner: "+15550009999",
			application_id: null,
			error_code: null,
			event_time: time,
			received_at: time,
			status: "received" as const,
			status_rank: 1,
			normalized_json: JSON.stringify(event),
		};
		await insertEvents(env.DB, [row], [await encodeEvent(row.normalized_json)]);
		ids.push(id);
	}
	return ids;
}

/** Quarantined elements of about LARGE_ROW_CHARS each, received a second apart from `baseTime`. */
export async function insertLargeQuarantine(count: number, baseTime: string): Promise<string[]> {
	const rows = Array.from({ length: count }, (_, index) => ({
		id: randomId("qtn"),
		received_at: new Date(Date.parse(baseTime) + index * 1000).toISOString(),
		reason: "element: a large one",
		raw_json: JSON.stringify({ padding: randomText(LARGE_ROW_CHARS) }),
	}));
	for (const row of rows) await env.DB.batch(insertQuarantine(env.DB, [row]));
	return rows.map((row) => row.id);
}

/** Delivery attempts of one event whose error text is about LARGE_ROW_CHARS; answers the event id. */
export async function insertLargeDeliveries(count: number): Promise<string> {
	const eventId = randomId("evt");
	for (let attempt = 1; attempt <= count; attempt += 1) {
		await insertDelivery(env.DB, {
			event_id: eventId,
			message_id: null,
			destination: "default",
			attempt,
			outcome: "failed",
			http_status: 503,
			error: `HTTP 503: ${randomText(LARGE_ROW_CHARS)}`,
			duration_ms: 5,
			at: new Date().toISOString(),
		}).run();
	}
	return eventId;
}
