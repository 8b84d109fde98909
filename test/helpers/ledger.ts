import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { ledgerFor, ledgerNameOf } from "../../src/ledger/ledger-client";
import type { MessageLedger } from "../../src/ledger/message-ledger.do";
import { postCallback } from "./callback";
import { element, newMessageId } from "./fixtures";
import { BACKGROUND_WAIT_MS } from "./wait";

/** A fresh message id whose events land in the same ledger bucket (and so the same archive objects) as `messageId`'s. */
export function sameBucketMessageId(messageId: string): string {
	const bucket = ledgerNameOf(env, messageId);
	for (;;) {
		const candidate = newMessageId();
		if (ledgerNameOf(env, candidate) === bucket) return candidate;
	}
}

/** A fresh message id in another bucket than `messageId`'s. */
export function otherBucketMessageId(messageId: string): string {
	const bucket = ledgerNameOf(env, messageId);
	for (;;) {
		const candidate = newMessageId();
		if (ledgerNameOf(env, candidate) !== bucket) return candidate;
	}
}

export function ledgerStub(messageId: string) {
	return ledgerFor(env, messageId);
}

export interface OutboxRow {
	id: string;
	sequence: number;
	/** COPIED bits: 1 queued, 2 stored in D1. */
	copied: number;
}

/** This message's rows waiting in its ledger's outbox, by sequence. */
export function pendingInLedger(messageId: string): Promise<OutboxRow[]> {
	return runInDurableObject(ledgerStub(messageId), (_instance: MessageLedger, state) => {
		const sql = state.storage.sql;
		const hasOutbox = sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").toArray().length > 0;
		if (!hasOutbox) return [];
		const keys = sql
			.exec<{ id: string; partition: string }>("SELECT id, partition FROM outbox WHERE message_id = ?", messageId)
			.toArray();
		return keys
			.map((key) =>
				sql
					.exec<{ id: string; sequence: number; copied: number }>(
						`SELECT id, sequence, state AS copied FROM ${key.partition} WHERE message_id = ? AND id = ?`,
						messageId,
						key.id,
					)
					.one(),
			)
			.sort((a, b) => a.sequence - b.sequence);
	});
}

/** The ledger's day tables (p_YYYYMMDD), oldest first. */
export function partitionsOf(messageId: string): Promise<string[]> {
	return runInDurableObject(ledgerStub(messageId), (_instance: MessageLedger, state) =>
		state.storage.sql
			.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'p\\_%' ESCAPE '\\'")
			.toArray()
			.map((row) => row.name)
			.sort(),
	);
}

export function alarmOf(messageId: string): Promise<number | null> {
	return runInDurableObject(ledgerStub(messageId), (_instance: MessageLedger, state) => state.storage.getAlarm());
}

/** Waits until the ledger's own alarm has tried to drain and failed: it re-armed itself for later. */
export async function waitForDrainBackoff(messageId: string): Promise<void> {
	await vi.waitUntil(
		async () => {
			const alarm = await alarmOf(messageId);
			return alarm !== null && alarm > Date.now() + 200;
		},
		{ timeout: BACKGROUND_WAIT_MS, interval: 20 },
	);
}

/**
 * Swaps each named ledger table for one of the same name that has none of its columns: every read
 * and write of it fails with a real storage error, one a fresh look at the schema does not cure
 * (the real table waits under a name the ledger does not read: `offline_…`).
 * Answers the function that puts the real tables back.
 */
export async function swapForBrokenTables(
	stub: ReturnType<typeof ledgerStub>,
	tables: readonly string[],
): Promise<() => Promise<void>> {
	const sql = (statements: string[]) =>
		runInDurableObject(stub, (_instance: MessageLedger, state) => {
			for (const statement of statements) state.storage.sql.exec(statement);
		});
	await sql(
		tables.flatMap((name) => [
			`ALTER TABLE ${name} RENAME TO offline_${name}`,
			`CREATE TABLE ${name} (broken INTEGER)`,
		]),
	);
	return () => sql(tables.flatMap((name) => [`DROP TABLE ${name}`, `ALTER TABLE offline_${name} RENAME TO ${name}`]));
}

/**
 * Breaks the ledger's day tables: every accept fails with a real storage error until restored. A
 * ledger creates a day's table with its first event, so the message is first given an earlier
 * event (a `message-sending` to +15550000000). Always, not only when its bucket has no table yet:
 * buckets are shared, and a test counting the message's events must not depend on what other
 * tests put in the same bucket.
 */
export async function withLedgerBroken<T>(messageId: string, body: () => Promise<T>): Promise<T> {
	const earlier = element("spec2026__message-sending.object.json", { messageId, to: "+15550000000" });
	const response = await postCallback([earlier]);
	if (response.status !== 200) throw new Error(`seeding the ledger answered ${response.status}`);
	const restore = await swapForBrokenTables(ledgerStub(messageId), await partitionsOf(messageId));
	try {
		return await body();
	} finally {
		await restore();
	}
}
