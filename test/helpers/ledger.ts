import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { ledgerFor } from "../../src/ledger/ledger-client";
import type { MessageLedger } from "../../src/ledger/message-ledger.do";
import { postCallback } from "./callback";
import { element } from "./fixtures";

export function ledgerStub(messageId: string) {
	return ledgerFor(env, messageId);
}

/** Rows still waiting in the ledger's outbox. */
export function pendingInLedger(messageId: string): Promise<Array<{ id: string; sequence: number; has_body: number }>> {
	return runInDurableObject(ledgerStub(messageId), (_instance: MessageLedger, state) =>
		state.storage.sql
			.exec<{ id: string; sequence: number; has_body: number }>(
				"SELECT id, sequence, normalized_json IS NOT NULL AS has_body FROM events WHERE state != 1 ORDER BY sequence",
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

function hasTable(messageId: string): Promise<boolean> {
	return runInDurableObject(
		ledgerStub(messageId),
		(_instance: MessageLedger, state) =>
			state.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").toArray().length >
			0,
	);
}

/**
 * Renames the ledger's table: every accept fails with a real storage error until restored. A
 * ledger creates its table on its first event, so an empty one is first given an earlier event
 * of the same message (a `message-sending` to +15550000000).
 */
export async function withLedgerBroken<T>(messageId: string, body: () => Promise<T>): Promise<T> {
	if (!(await hasTable(messageId))) {
		const earlier = element("spec2026__message-sending.object.json", { messageId, to: "+15550000000" });
		const response = await postCallback([earlier]);
		if (response.status !== 200) throw new Error(`seeding the ledger answered ${response.status}`);
	}
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
