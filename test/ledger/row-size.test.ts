import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/db/event-body";
import { withSequence } from "../../src/db/events.repository";
import { prepareElement } from "../../src/ingest/prepare-element";
import type { MessageLedger } from "../../src/ledger/message-ledger.do";
import type { LedgerEntry } from "../../src/ledger/store/ledger-rows";
import { element, newMessageId } from "../helpers/fixtures";

/*
 * What a ledger holds per event bounds the rate one bucket takes before its 10 GB (docs/capacity.md).
 * A WITHOUT ROWID row over ~1 KB spills into a whole overflow page: with the body stored as text
 * these samples took 4.7 KB an event; gzip keeps the row inside its page.
 */

const SAMPLES = [
	"spec2026__message-delivered_sms.object.json",
	"spec2026__message-received_sms.object.json",
	"spec2026__message-sending.object.json",
	"spec2026__message-delivered_group-mms.object.json",
];

async function entries(count: number): Promise<LedgerEntry[]> {
	const made: LedgerEntry[] = [];
	for (let i = 0; i < count; i++) {
		const prepared = await prepareElement(
			element(SAMPLES[i % SAMPLES.length]!, { messageId: newMessageId() }),
			new Date().toISOString(),
		);
		if (prepared.kind !== "event") throw new Error(prepared.row.reason);
		// Compressed as ingest does it before the accept.
		made.push({ ...prepared.entry, body_gz: await encodeEvent(prepared.entry.normalized_json) });
	}
	return made;
}

function ledgerNamed(name: string) {
	return env.MESSAGE_LEDGER.get(env.MESSAGE_LEDGER.idFromName(name));
}

describe("a ledger's bytes per event", () => {
	it("stays under 1.5 KB for typical events (4.7 KB when bodies spilled into overflow pages)", async () => {
		const stub = ledgerNamed("row-size");
		const size = () => runInDurableObject(stub, (_instance: MessageLedger, state) => state.storage.sql.databaseSize);
		const before = await size();
		const made = await entries(2000);
		for (let i = 0; i < made.length; i += 100) await stub.accept(made.slice(i, i + 100));
		const perEvent = ((await size()) - before) / made.length;
		expect(perEvent).toBeLessThan(1500);
	});

	it("reads back the exact CloudEvent, with its sequence, from a compressed row and from a row stored as text", async () => {
		const stub = ledgerNamed("row-formats");
		const [fresh, legacy, uncompressed] = await entries(3);
		const { handoff } = await stub.accept([fresh!]);
		expect(await stub.body(fresh!.message_id, fresh!.id)).toBe(handoff!.rows[0]!.normalized_json);
		expect(JSON.parse(handoff!.rows[0]!.normalized_json).data.sequence).toBe(1);
		// A row written before bodies were compressed: the JSON, sequence included, as text.
		const text = withSequence(legacy!.normalized_json, 1);
		await runInDurableObject(stub, (_instance: MessageLedger, state) => {
			const [table] = state.storage.sql
				.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name LIKE 'p\\_%' ESCAPE '\\'")
				.toArray();
			state.storage.sql.exec(
				`INSERT INTO ${table!.name} (message_id, id, sequence, state, accepted_at, hour, meta, body) VALUES (?, ?, 1, 3, 0, ?, '{}', ?)`,
				legacy!.message_id,
				legacy!.id,
				new Date().toISOString().slice(0, 13),
				text,
			);
		});
		expect(await stub.body(legacy!.message_id, legacy!.id)).toBe(text);
		// An entry handed over uncompressed (a caller that did not compress) is stored as text.
		const { body_gz: _, ...plain } = uncompressed!;
		const stored = await stub.accept([plain]);
		expect(await stub.body(plain.message_id, plain.id)).toBe(stored.handoff!.rows[0]!.normalized_json);
	});

	it("skips a row whose body cannot be decoded, and says so, rather than failing the read", async () => {
		const stub = ledgerNamed("row-damaged");
		const [entry] = await entries(1);
		await stub.accept([entry!]);
		await runInDurableObject(stub, (_instance: MessageLedger, state) => {
			const [table] = state.storage.sql
				.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name LIKE 'p\\_%' ESCAPE '\\'")
				.toArray();
			state.storage.sql.exec(`UPDATE ${table!.name} SET body = ?`, new Uint8Array([1, 2, 3]).buffer);
		});
		expect(await stub.body(entry!.message_id, entry!.id)).toBeNull();
	});
});
