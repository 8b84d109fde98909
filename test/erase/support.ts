import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { archiveKey } from "../../src/archive/archive-layout";
import { insertDelivery } from "../../src/db/deliveries.repository";
import { type ErasureReport, noCounts } from "../../src/erase/erasure-counts";
import type { MessageLedger } from "../../src/ledger/message-ledger.do";
import { hourOf } from "../../src/ledger/partitions";
import { ledgerStub } from "../helpers/ledger";

export { otherBucketMessageId, sameBucketMessageId } from "../helpers/ledger";

export const HOUR_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * HOUR_MS;

/** What an erasure call answers, as JSON. */
export type ErasureAnswer = ErasureReport;

export const NOTHING_ERASED: ErasureAnswer = { ...noCounts(), complete: true, cursor: null };

/** A Bandwidth-shaped id created at `time`: 13 digits of epoch milliseconds and 16 lowercase alphanumerics. */
export function messageIdCreatedAt(time: number): string {
	return `${time}${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

/** A North American number nobody else in the test run uses. */
export function freshNumber(): string {
	return `+1555${String(Math.floor(Math.random() * 10_000_000)).padStart(7, "0")}`;
}

/** What the ledger still holds of a message: rows in its day tables, and entries in its outbox. */
export function ledgerHoldings(messageId: string): Promise<{ rows: number; outbox: number }> {
	return runInDurableObject(ledgerStub(messageId), (_instance: MessageLedger, state) => {
		const sql = state.storage.sql;
		const tables = sql
			.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
			.toArray()
			.map((row) => row.name);
		let rows = 0;
		for (const table of tables.filter((name) => /^p_\d{8}$/.test(name))) {
			rows += sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table} WHERE message_id = ?`, messageId).one().n;
		}
		const outbox = tables.includes("outbox")
			? sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE message_id = ?", messageId).one().n
			: 0;
		return { rows, outbox };
	});
}

/** The quarantine rows whose element belongs to the message. */
export async function quarantinedOf(messageId: string): Promise<string[]> {
	const rows = await env.DB.prepare(
		"SELECT id FROM quarantine WHERE json_extract(raw_json, '$.message.id') = ?1 ORDER BY id",
	)
		.bind(messageId)
		.all<{ id: string }>();
	return rows.results.map((row) => row.id);
}

/** The key of part 0 of a ledger's archive object for the hour `time` falls in. */
export function archiveKeyAt(time: number, ledger: string): string {
	return archiveKey(hourOf(time), ledger, 0);
}

/** A CloudEvent line as the archive holds it, reduced to what erasure reads. */
export function archivedLine(
	id: string,
	messageId: string,
	parties: { from?: string; owner?: string; recipient?: string; to?: string[] } = {},
): Record<string, unknown> {
	const recipient = parties.recipient ?? "+15550000001";
	return {
		specversion: "1.0",
		id,
		type: "bandwidth.message.delivered",
		subject: messageId,
		data: {
			messageId,
			recipient,
			from: parties.from ?? "+15550000002",
			owner: parties.owner ?? parties.from ?? "+15550000002",
			to: parties.to ?? [recipient],
			text: "hello",
		},
	};
}

/** The object's lines (CloudEvent ids) and its stored counts; null once it is gone. */
export async function archiveObject(
	key: string,
): Promise<{ ids: string[]; events: string | undefined; bytes: string | undefined; text: string } | null> {
	const object = await env.ARCHIVE.get(key);
	if (object === null) return null;
	const text = await new Response(object.body.pipeThrough(new DecompressionStream("gzip"))).text();
	const ids = text
		.split("\n")
		.filter((line) => line !== "")
		.map((line) => (JSON.parse(line) as { id: string }).id);
	return { ids, events: object.customMetadata?.events, bytes: object.customMetadata?.bytes, text };
}

/** Every JSON log line written to console.log/warn/error during `run`, parsed. */
export function loggedEvents(calls: unknown[][]): Array<Record<string, unknown>> {
	return calls.flatMap(([line]) => {
		try {
			return [JSON.parse(String(line)) as Record<string, unknown>];
		} catch {
			return [];
		}
	});
}

/** D1 refuses inserts into `table` (a real SQL error, as from a failing database) while `body` runs. */
export async function refusingInserts<T>(table: string, body: () => Promise<T>): Promise<T> {
	await env.DB.exec(
		`CREATE TRIGGER refuse_${table} BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, 'offline'); END`,
	);
	try {
		return await body();
	} finally {
		await env.DB.exec(`DROP TRIGGER refuse_${table}`);
	}
}

/** The row a forward's failed first attempt leaves in D1, as the consumer writes it. */
export async function failedAttempt(eventId: string, messageId: string): Promise<void> {
	await insertDelivery(env.DB, {
		event_id: eventId,
		attempt: 1,
		outcome: "failed",
		http_status: 500,
		error: "HTTP 500",
		duration_ms: 3,
		at: new Date().toISOString(),
		destination: "default",
		message_id: messageId,
	}).run();
}
