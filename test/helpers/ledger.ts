import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { ledgerFor } from "../../src/ledger/ledger-client";
import type { MessageLedger } from "../../src/ledger/message-ledger.do";

export function ledgerStub(messageId: string) {
	return ledgerFor(env, messageId);
}

/** Rows still waiting in the ledger's outbox. */
export function pendingInLedger(messageId: string): Promise<Array<{ id: string; sequence: number; has_body: number }>> {
	return runInDurableObject(ledgerStub(messageId), (_instance: MessageLedger, state) =>
		state.storage.sql
			.exec<{ id: string; sequence: number; has_body: number }>(
				"SELECT id, sequence, normalized_json IS NOT NULL AS has_body FROM events WHERE drained = 0 ORDER BY sequence",
			)
			.toArray(),
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
		{ timeout: 5000, interval: 20 },
	);
}

/** Renames the ledger's table: every accept fails with a real storage error until restored. */
export async function withLedgerBroken<T>(messageId: string, body: () => Promise<T>): Promise<T> {
	const sql = (statement: string) =>
		runInDurableObject(ledgerStub(messageId), (_instance: MessageLedger, state) => {
			state.storage.sql.exec(statement);
		});
	await sql("ALTER TABLE events RENAME TO events_offline");
	try {
		return await body();
	} finally {
		await sql("ALTER TABLE events_offline RENAME TO events");
	}
}
