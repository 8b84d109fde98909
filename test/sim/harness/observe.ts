import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { decodeEvent } from "../../../src/db/event-body";
import { withSequence } from "../../../src/db/events.repository";
import type { SinkRecord } from "../support/sim-sink-types";
import type { RawAccess } from "./bindings";

/*
 * What the relay holds at the end of a run, read through the harness's own (unpatched) access to
 * every store: D1, the ledgers' SQLite, the archive and media buckets, and the sink's records.
 * Events are recognized by the `_sim` tag each element carries (Bandwidth's unknown fields are
 * kept in data.bandwidth, in quarantine and in the archive), so no store's own ids are trusted.
 */

export interface StoredEvent {
	id: string;
	tag: string | null;
	messageId: string;
	type: string;
	direction: string | null;
	applicationId: string | null;
	owner: string | null;
}

export interface LedgerOutbox {
	id: string;
	rows: number;
	alarm: number | null;
}

export interface Observed {
	d1Events: Map<string, StoredEvent>;
	d1Deliveries: Array<{ eventId: string; destination: string }>;
	/** First-try entries (attempts_YYYYMMDD) by event id: when each was recorded (epoch ms). */
	d1FirstTries: Map<string, number[]>;
	quarantineTags: Set<string>;
	/** Lines of the archive by event id: more than one is a copy too many. */
	archive: Map<string, { event: StoredEvent; copies: number }>;
	/** The ledgers whose outbox still holds rows, and the alarm each has set (null: none). */
	ledgerOutboxes: LedgerOutbox[];
	/** Message ids and event ids the ledgers still hold rows of (day tables, outbox). */
	ledgerMessages: Set<string>;
	ledgerEventIds: Set<string>;
	ledgerQuarantineText: string[];
	mediaKeys: string[];
	sink: SinkRecord[];
}

const TAG = /"_sim":"(s\d+-e\d+)"/;

export function parseStoredEvent(text: string): StoredEvent | null {
	let parsed: Record<string, unknown>;
	try {
		parsed = JSON.parse(text);
	} catch {
		try {
			parsed = JSON.parse(withSequence(text, 0));
		} catch {
			return null;
		}
	}
	const data = (parsed.data ?? {}) as Record<string, unknown>;
	const string = (value: unknown) => (typeof value === "string" ? value : null);
	return {
		id: String(parsed.id ?? ""),
		tag: TAG.exec(text)?.[1] ?? null,
		messageId: string(data.messageId) ?? String(parsed.subject ?? ""),
		type: String(parsed.type ?? ""),
		direction: string(data.direction),
		applicationId: string(data.applicationId),
		owner: string(data.owner),
	};
}

async function gunzipLines(body: ReadableStream): Promise<string[]> {
	const text = await new Response(body.pipeThrough(new DecompressionStream("gzip"))).text();
	return text.split("\n").filter((line) => line.length > 0);
}

async function d1Tables(raw: RawAccess, db: D1Database, like: string): Promise<string[]> {
	const rows = await raw.d1All<{ name: string }>(
		db,
		"SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ?",
		like,
	);
	return rows.map((row) => row.name);
}

export async function observe(env: Env, raw: RawAccess, sinkRecords: () => Promise<SinkRecord[]>): Promise<Observed> {
	const d1Events = new Map<string, StoredEvent>();
	for (const table of await d1Tables(raw, env.DB, "events%")) {
		const rows = await raw.d1All<{ event_gz: unknown }>(env.DB, `SELECT event_gz FROM ${table}`).catch(() => []);
		for (const row of rows) {
			const event = parseStoredEvent(await decodeEvent(row.event_gz));
			if (event !== null) d1Events.set(event.id, event);
		}
	}
	const d1Deliveries = (
		await raw.d1All<{ event_id: string; destination: string }>(env.DB, "SELECT * FROM deliveries")
	).map((row) => ({ eventId: row.event_id, destination: row.destination, row }));
	const d1FirstTries = new Map<string, number[]>();
	for (const table of await d1Tables(raw, env.DB, "attempts_%")) {
		const entries = await raw.d1All<{ at: string; event_id: string }>(
			env.DB,
			`SELECT a.at, json_extract(e.value, '$[0]') AS event_id FROM ${table} a, json_each(a.entries) e`,
		);
		for (const entry of entries) {
			d1FirstTries.set(entry.event_id, [...(d1FirstTries.get(entry.event_id) ?? []), Date.parse(entry.at)]);
		}
	}
	const quarantineTags = new Set(
		(await raw.d1All<{ raw_json: string }>(env.DB, "SELECT raw_json FROM quarantine")).flatMap(
			(row) => TAG.exec(row.raw_json)?.[1] ?? [],
		),
	);

	const archive = new Map<string, { event: StoredEvent; copies: number }>();
	if (env.ARCHIVE !== undefined) {
		let cursor: string | undefined;
		do {
			const listed = await raw.r2List(env.ARCHIVE, { prefix: "events/", ...(cursor ? { cursor } : {}) });
			for (const object of listed.objects) {
				const body = await raw.r2Get(env.ARCHIVE, object.key);
				if (body === null) continue;
				for (const line of await gunzipLines(body.body)) {
					const event = parseStoredEvent(line);
					if (event === null) continue;
					const known = archive.get(event.id);
					if (known === undefined) archive.set(event.id, { event, copies: 1 });
					else known.copies += 1;
				}
			}
			cursor = listed.truncated ? listed.cursor : undefined;
		} while (cursor !== undefined);
	}

	const ledgerMessages = new Set<string>();
	const ledgerEventIds = new Set<string>();
	const ledgerQuarantineText: string[] = [];
	const ledgerOutboxes: LedgerOutbox[] = [];
	for (const id of await listDurableObjectIds(env.MESSAGE_LEDGER)) {
		const held = await runInDurableObject(raw.stubOf(env.MESSAGE_LEDGER, id), async (_instance, state) => {
			const sql = state.storage.sql;
			// The DO SQL API refuses PRAGMAs: a table's columns are read from its CREATE statement.
			const tables = sql
				.exec<{ name: string; sql: string | null }>("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
				.toArray();
			const messages: string[] = [];
			const ids: string[] = [];
			const quarantined: string[] = [];
			for (const table of tables) {
				const definition = table.sql ?? "";
				if (/\bmessage_id\b/.test(definition)) {
					const id = /\bid\s+TEXT\b/i.test(definition) ? "id" : "NULL";
					for (const row of sql.exec<{ message_id: string; id: string | null }>(
						`SELECT message_id, ${id} AS id FROM "${table.name}"`,
					)) {
						messages.push(row.message_id);
						if (row.id !== null) ids.push(row.id);
					}
				}
				if (table.name === "quarantine_outbox") {
					for (const row of sql.exec<{ row: string }>("SELECT row FROM quarantine_outbox")) quarantined.push(row.row);
				}
			}
			const outbox = tables.some((table) => table.name === "outbox")
				? sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n
				: 0;
			return { messages, ids, quarantined, outbox, alarm: await state.storage.getAlarm() };
		});
		if (held.outbox > 0) ledgerOutboxes.push({ id: id.toString(), rows: held.outbox, alarm: held.alarm });
		for (const message of held.messages) ledgerMessages.add(message);
		for (const id of held.ids) ledgerEventIds.add(id);
		ledgerQuarantineText.push(...held.quarantined);
	}

	const mediaKeys: string[] = [];
	if (env.MEDIA !== undefined) {
		let cursor: string | undefined;
		do {
			const listed = await raw.r2List(env.MEDIA, cursor ? { cursor } : {});
			mediaKeys.push(...listed.objects.map((object) => object.key));
			cursor = listed.truncated ? listed.cursor : undefined;
		} while (cursor !== undefined);
	}

	return {
		d1Events,
		d1Deliveries,
		d1FirstTries,
		quarantineTags,
		archive,
		ledgerMessages,
		ledgerEventIds,
		ledgerQuarantineText,
		ledgerOutboxes,
		mediaKeys,
		sink: await sinkRecords(),
	};
}
