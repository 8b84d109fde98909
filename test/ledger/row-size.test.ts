import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/db/event-body";
import { withSequence } from "../../src/db/events.repository";
import { prepareElement } from "../../src/ingest/prepare-element";
import { ledgerNameOf } from "../../src/ledger/ledger-client";
import { MessageLedger } from "../../src/ledger/message-ledger.do";
import { hourOf, partitionOf } from "../../src/ledger/partitions";
import { DayTables } from "../../src/ledger/store/day-tables";
import { packBody } from "../../src/ledger/store/ledger-body";
import type { LedgerEntry, LedgerRow } from "../../src/ledger/store/ledger-rows";
import { LedgerSql } from "../../src/ledger/store/ledger-sql";
import { type BandwidthElement, elementsOf, newMessageId, SAMPLE_NAMES } from "../helpers/fixtures";

/*
 * What a ledger holds per event bounds the rate one bucket takes before its 10 GB (docs/capacity.md).
 * SQLite stores a WITHOUT ROWID row in its b-tree page only while its record is at most 1,002
 * bytes (4 KB pages: (4096 − 12) × 64/255 − 23); past that the rest spills into a whole overflow
 * page of its own. Measured with Bandwidth's documented mix, every element of every sample in
 * test/fixtures/bandwidth, each with a fresh message id:
 *
 * - metadata as JSON beside a gzip body (the format before): records of 909–1,047 bytes, so every
 *   `failed`, the inbound MMS with several files, some inbound group MMS and the SDK's status sample
 *   spilled; 1,507 bytes of database per event with 100 events per bucket;
 * - the metadata derived from the CloudEvent inside one deflate body (src/ledger/store/ledger-body.ts):
 *   records of 575–716 bytes, none spilling; 796 bytes per event with 100 per bucket when the
 *   events come in key order (message ids start with their creation time), 902 when they come in
 *   random order (pages split in the middle are left half full): the test takes the latter.
 *
 * Bytes are `databaseSize` growth (pages × 4,096, overflow pages included): workerd's SQLite has no
 * `dbstat`. A row's overflow shows as one more page per row: a table of 16 copies of one sample
 * takes 4–6 pages when they fit and 20 or more when they spill.
 */

type Template = { name: string; element: BandwidthElement };

/** Every element of every documented sample, as the bench's payloads take them. */
const TEMPLATES: Template[] = SAMPLE_NAMES.flatMap((name) =>
	elementsOf(name).map((element, index) => ({ name: `${name}#${index}`, element })),
);

async function entryOf(template: BandwidthElement): Promise<LedgerEntry> {
	const copy = structuredClone(template);
	copy.message = { ...copy.message, id: newMessageId() };
	const prepared = await prepareElement(copy, new Date().toISOString());
	if (prepared.kind !== "event") throw new Error(prepared.row.reason);
	const entry = { ...prepared.entry, destinations: ["default"] };
	// Compressed as ingest does it before the accept.
	return { ...entry, packed: await packBody(entry) };
}

function ledgerNamed(name: string) {
	return env.MESSAGE_LEDGER.get(env.MESSAGE_LEDGER.idFromName(name));
}

const databaseSize = (name: string) =>
	runInDurableObject(ledgerNamed(name), (_instance: MessageLedger, state) => state.storage.sql.databaseSize);

/** Bytes of SQLite's record of a row: a header of varints, then each value (file format 4). */
function recordBytes(values: readonly SqlStorageValue[]): number {
	const varint = (n: number) => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4);
	const sizes = values.map((value): [serial: number, bytes: number] => {
		if (value === null) return [0, 0];
		if (typeof value === "number") {
			const magnitude = Math.abs(value);
			if (value === 0 || value === 1) return [8, 0];
			const bytes =
				magnitude < 2 ** 7
					? 1
					: magnitude < 2 ** 15
						? 2
						: magnitude < 2 ** 23
							? 3
							: magnitude < 2 ** 31
								? 4
								: magnitude < 2 ** 47
									? 6
									: 8;
			return [1, bytes];
		}
		const length = typeof value === "string" ? new TextEncoder().encode(value).byteLength : value.byteLength;
		return [length * 2 + 13, length];
	});
	const serials = sizes.reduce((sum, [serial]) => sum + varint(serial), 0);
	return varint(serials + 1) + serials + sizes.reduce((sum, [, bytes]) => sum + bytes, 0);
}

/** In place, the same order every run (a small LCG): receipts reach a bucket out of key order. */
function shuffle<T>(items: T[]): void {
	let seed = 42;
	for (let i = items.length - 1; i > 0; i--) {
		seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
		const j = seed % (i + 1);
		[items[i], items[j]] = [items[j]!, items[i]!];
	}
}

/** SQLite's largest local payload on a 4 KB page of an index b-tree (a WITHOUT ROWID table is one). */
const MAX_LOCAL_PAYLOAD = Math.floor(((4096 - 12) * 64) / 255) - 23;

describe("a ledger's bytes per event on Bandwidth's documented mix", () => {
	it("keeps every documented sample's row inside its page, and reads it back as accepted", async () => {
		const copies = 16;
		const spilled: string[] = [];
		for (const [index, template] of TEMPLATES.entries()) {
			const name = `fit-${index}`;
			const before = await databaseSize(name);
			const made = await Promise.all(Array.from({ length: copies }, () => entryOf(template.element)));
			const { handoff } = await ledgerNamed(name).accept(made);
			const pages = ((await databaseSize(name)) - before) / 4096;
			const { largest, readBack } = await runInDurableObject(
				ledgerNamed(name),
				async (_instance: MessageLedger, state) => {
					const days = new DayTables(new LedgerSql(state.storage));
					const partition = handoff!.rows[0]!.partition;
					const rows = state.storage.sql.exec(`SELECT * FROM ${partition}`).toArray();
					return {
						largest: Math.max(...rows.map((row) => recordBytes(Object.values(row)))),
						readBack: await Promise.all(handoff!.rows.map((row) => days.get(row.partition, row.message_id, row.id))),
					};
				},
			);
			// What the drain copies to D1 (metadata derived from the CloudEvent) is what the handoff copied.
			expect(readBack, template.name).toEqual(handoff!.rows);
			if (largest > MAX_LOCAL_PAYLOAD || pages >= copies)
				spilled.push(`${template.name}: ${largest} B, ${pages} pages`);
		}
		expect(spilled).toEqual([]);
	});

	it("stores the mix in at most 1,000 bytes per event with ~100 events per bucket (measured: ~900)", async () => {
		const events = 6400;
		const made: LedgerEntry[] = [];
		for (let i = 0; i < events; i++) made.push(await entryOf(TEMPLATES[i % TEMPLATES.length]!.element));
		shuffle(made);
		const buckets = Map.groupBy(made, (entry) => `mix-${ledgerNameOf(env, entry.message_id)}`);
		let grown = 0;
		for (const [name, entries] of buckets) {
			const before = await databaseSize(name);
			for (let i = 0; i < entries.length; i += 10) await ledgerNamed(name).accept(entries.slice(i, i + 10));
			grown += (await databaseSize(name)) - before;
		}
		expect(buckets.size).toBe(64);
		expect(grown / events).toBeLessThanOrEqual(1000);
	});
});

describe("a ledger's rows in every format it has written", () => {
	/** A day table as ledgers created them before the body held the metadata. */
	const LEGACY_TABLE = (name: string) => `
		CREATE TABLE ${name} (message_id TEXT NOT NULL, id TEXT NOT NULL, sequence INTEGER NOT NULL,
		  state INTEGER NOT NULL, accepted_at INTEGER NOT NULL, hour TEXT NOT NULL, meta TEXT NOT NULL,
		  body TEXT NOT NULL, PRIMARY KEY (message_id, id)) WITHOUT ROWID`;

	function legacyMeta(entry: LedgerEntry): string {
		const { id: _id, message_id: _message, normalized_json: _json, packed: _packed, ...meta } = entry;
		return JSON.stringify(meta);
	}

	it("reads rows a ledger wrote before (gzip or text body, metadata beside it) and writes new ones beside them", async () => {
		const [gzipped, text, fresh] = await Promise.all(
			TEMPLATES.slice(0, 3).map((template) => entryOf(template.element)),
		);
		const hour = hourOf(Date.now());
		const partition = partitionOf(hour);
		const stub = ledgerNamed("legacy-rows");
		const read = await runInDurableObject(stub, async (_instance: MessageLedger, state) => {
			const sql = state.storage.sql;
			sql.exec(LEGACY_TABLE(partition));
			const insert = `INSERT INTO ${partition} (message_id, id, sequence, state, accepted_at, hour, meta, body) VALUES (?, ?, 1, 3, 0, ?, ?, ?)`;
			const gz = await encodeEvent(gzipped!.normalized_json);
			sql.exec(insert, gzipped!.message_id, gzipped!.id, hour, legacyMeta(gzipped!), gz.buffer);
			sql.exec(insert, text!.message_id, text!.id, hour, legacyMeta(text!), withSequence(text!.normalized_json, 1));
			// A ledger that starts on this storage (after the upgrade) finds the old table and writes into it.
			const ledger = new MessageLedger(state, env);
			const accepted = await ledger.accept([fresh!]);
			const days = new DayTables(new LedgerSql(state.storage));
			return {
				bodies: await Promise.all([gzipped!, text!, fresh!].map((entry) => ledger.body(entry.message_id, entry.id))),
				rows: await Promise.all([gzipped!, text!].map((entry) => days.get(partition, entry.message_id, entry.id))),
				handoff: accepted.handoff!.rows[0]!,
				freshRow: await days.get(partition, fresh!.message_id, fresh!.id),
				statuses: [gzipped!, text!, fresh!].map((entry) => days.statusesOf(entry.message_id)[0]),
			};
		});
		expect(read.bodies).toEqual([
			withSequence(gzipped!.normalized_json, 1),
			withSequence(text!.normalized_json, 1),
			withSequence(fresh!.normalized_json, 1),
		]);
		const expected = (entry: LedgerEntry): LedgerRow => {
			const { packed: _packed, ...row } = entry;
			return {
				...row,
				sequence: 1,
				normalized_json: withSequence(entry.normalized_json, 1),
				partition,
				hour,
				copied: 3,
			};
		};
		expect(read.rows).toEqual([expected(gzipped!), expected(text!)]);
		expect(read.freshRow).toEqual(read.handoff);
		expect(read.statuses).toEqual(
			[gzipped!, text!, fresh!].map((entry) => ({
				id: entry.id,
				sequence: 1,
				recipient: entry.recipient,
				status: entry.status,
				status_rank: entry.status_rank,
			})),
		);
	});

	it("stores an entry handed over uncompressed as text, and reads it back the same", async () => {
		const [entry] = await Promise.all(TEMPLATES.slice(5, 6).map((template) => entryOf(template.element)));
		const { packed: _packed, ...plain } = entry!;
		const stub = ledgerNamed("row-text");
		const { handoff } = await stub.accept([plain]);
		expect(await stub.body(plain.message_id, plain.id)).toBe(handoff!.rows[0]!.normalized_json);
		const row = await runInDurableObject(stub, (_instance: MessageLedger, state) =>
			new DayTables(new LedgerSql(state.storage)).get(handoff!.rows[0]!.partition, plain.message_id, plain.id),
		);
		expect(row).toEqual(handoff!.rows[0]);
	});

	it("skips a row whose body cannot be decoded, and says so, rather than failing the read", async () => {
		const stub = ledgerNamed("row-damaged");
		const entry = await entryOf(TEMPLATES[0]!.element);
		await stub.accept([entry]);
		await runInDurableObject(stub, (_instance: MessageLedger, state) => {
			const [table] = state.storage.sql
				.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name LIKE 'p\\_%' ESCAPE '\\'")
				.toArray();
			state.storage.sql.exec(`UPDATE ${table!.name} SET body = ?`, new Uint8Array([1, 2, 3]).buffer);
		});
		expect(await stub.body(entry.message_id, entry.id)).toBeNull();
	});
});
