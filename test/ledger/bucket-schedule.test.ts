import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { configProblems, readLedgerConfig } from "../../src/config";
import { eventLoader } from "../../src/forward/load-event";
import worker from "../../src/index";
import { DEFAULT_BUCKET_SCHEDULE } from "../../src/ledger/bucket-schedule";
import { allLedgerNames, bucketNameIn, ledgerName, ledgerNamed, ledgerNameOf } from "../../src/ledger/ledger-client";
import { eventIdOfElement, RELAY_URL } from "../helpers/admin";
import { basicAuthorization, CALLBACK_URL } from "../helpers/callback";
import { type BandwidthElement, element, newMessageId } from "../helpers/fixtures";
import { TEST_ENV } from "../setup/test-env";

const AT = "2026-12-10T00:00:00.000Z";
const SCHEDULE = `64,128@${AT}`;
const BEFORE = Date.parse(AT) - 1;
const AFTER = Date.parse(AT);

/** A Bandwidth-shaped id created at `time` (13 digits of epoch ms, then 16 characters). */
function idCreatedAt(time: number, index: number): string {
	return `${time}${index.toString(36).padStart(16, "x")}`;
}

function problemOf(value: string): string | null {
	const config = readLedgerConfig({ LEDGER_BUCKETS: value });
	return config.ok ? null : config.message;
}

describe("LEDGER_BUCKETS", () => {
	it("reads a count, or a schedule of counts from instants on; unset is 64", () => {
		expect(readLedgerConfig({})).toEqual({ ok: true, value: { buckets: DEFAULT_BUCKET_SCHEDULE } });
		expect(readLedgerConfig({ LEDGER_BUCKETS: "" })).toEqual(readLedgerConfig({}));
		expect(readLedgerConfig({ LEDGER_BUCKETS: " 32 " })).toMatchObject({
			ok: true,
			value: { buckets: [{ count: 32 }] },
		});
		expect(readLedgerConfig({ LEDGER_BUCKETS: `${SCHEDULE}, 512@2027-01-01T00:00:00+01:00` })).toEqual({
			ok: true,
			value: {
				buckets: [
					{ count: 64, from: Number.NEGATIVE_INFINITY },
					{ count: 128, from: Date.parse(AT) },
					{ count: 512, from: Date.parse("2026-12-31T23:00:00Z") },
				],
			},
		});
	});

	it("refuses a schedule it cannot follow, saying what is wrong", () => {
		expect(problemOf("sixty-four")).toBe(
			'LEDGER_BUCKETS: "sixty-four" is not a count or count@instant (e.g. "64" or "64,128@2026-12-10T00:00:00Z")',
		);
		expect(problemOf("0")).toBe('LEDGER_BUCKETS: "0": a count must be from 1 to 4096');
		expect(problemOf("64,8192@2026-12-10T00:00:00Z")).toMatch(/a count must be from 1 to 4096/);
		expect(problemOf("128@2026-12-10T00:00:00Z")).toMatch(/the first entry is a count alone/);
		expect(problemOf("64,128")).toMatch(/"128": every entry after the first needs @<instant>/);
		expect(problemOf("64,128@tomorrow")).toMatch(/"tomorrow" is not an RFC 3339 instant/);
		expect(problemOf(`${SCHEDULE},256@2026-12-09T00:00:00Z`)).toMatch(/must come after the one before/);
		expect(problemOf(`${SCHEDULE},256@${AT}`)).toMatch(/must come after the one before/);
		expect(configProblems({ ...env, LEDGER_BUCKETS: "64,128" })).toContainEqual(
			expect.stringContaining("LEDGER_BUCKETS"),
		);
	});

	it("places a message by the creation time its id starts with, and never moves one", () => {
		const schedule = readLedgerConfig({ LEDGER_BUCKETS: SCHEDULE });
		if (!schedule.ok) throw new Error(schedule.message);
		const flat = readLedgerConfig({ LEDGER_BUCKETS: "64" });
		if (!flat.ok) throw new Error(flat.message);
		const older = Array.from({ length: 500 }, (_, index) => idCreatedAt(BEFORE, index));
		const newer = Array.from({ length: 500 }, (_, index) => idCreatedAt(AFTER, index));
		for (const id of older) expect(bucketNameIn(schedule.value.buckets, id)).toBe(bucketNameIn(flat.value.buckets, id));
		const spread = new Set(newer.map((id) => bucketNameIn(schedule.value.buckets, id)));
		expect(spread.size).toBeGreaterThan(100);
		expect([...spread].every((name) => Number(name.slice("ledger-".length)) < 128)).toBe(true);
		expect([...spread].some((name) => Number(name.slice("ledger-".length)) >= 64)).toBe(true);
		// An id that does not start with a time stays on the first count.
		expect(bucketNameIn(schedule.value.buckets, "qtn_abc")).toBe(bucketNameIn(flat.value.buckets, "qtn_abc"));
		expect(allLedgerNames({ ...env, LEDGER_BUCKETS: SCHEDULE })).toEqual(
			Array.from({ length: 128 }, (_, bucket) => ledgerName(bucket)),
		);
	});
});

async function fetchWith(buckets: string, request: Request): Promise<Response> {
	const ctx = createExecutionContext();
	const response = await worker.fetch!(
		request as Request<unknown, IncomingRequestCfProperties>,
		{ ...env, LEDGER_BUCKETS: buckets } as Env,
		ctx,
	);
	await waitOnExecutionContext(ctx);
	return response;
}

function callback(buckets: string, elements: readonly BandwidthElement[]): Promise<Response> {
	return fetchWith(
		buckets,
		new Request(CALLBACK_URL, {
			method: "POST",
			headers: { "content-type": "application/json", authorization: basicAuthorization() },
			body: JSON.stringify(elements),
		}),
	);
}

describe("raising LEDGER_BUCKETS on a running relay", () => {
	it("still recognizes Bandwidth's retries of events accepted before, spreads new messages over the new count, and finds the old ones", async () => {
		const before = Array.from({ length: 24 }, () => element("spec2026__message-delivered_sms.object.json"));
		expect(await (await callback("64", before)).json()).toMatchObject({ stored: 24, duplicates: 0 });

		// Raised from the next millisecond on: every message above was created before it.
		const at = new Date(Date.now() + 2).toISOString();
		const raised = `64,128@${at}`;
		while (Date.now() <= Date.parse(at)) await new Promise((resolve) => setTimeout(resolve, 2));
		const raisedEnv = { ...env, LEDGER_BUCKETS: raised };
		// Half of them would hash elsewhere over 128: those are what a naive re-hash would lose.
		const moved = before.filter(
			(event) => ledgerNameOf(env, event.message.id) !== ledgerName(fnvBucket(event.message.id, 128)),
		);
		expect(moved.length).toBeGreaterThan(0);

		expect(await (await callback(raised, before)).json()).toEqual({
			received: 24,
			stored: 0,
			duplicates: 24,
			quarantined: 0,
		});

		const after = Array.from({ length: 24 }, () => element("spec2026__message-delivered_sms.object.json"));
		expect(await (await callback(raised, after)).json()).toMatchObject({ stored: 24, duplicates: 0 });
		const newBuckets = after.map((event) => Number(ledgerNameOf(raisedEnv, event.message.id).slice("ledger-".length)));
		expect(newBuckets.some((bucket) => bucket >= 64)).toBe(true);
		for (const event of after) {
			expect(ledgerNameOf(raisedEnv, event.message.id)).toBe(ledgerName(fnvBucket(event.message.id, 128)));
		}

		// A large event's body, read by the consumer from its message's ledger: the old bucket, where it stayed.
		const old = moved[0]!;
		const eventId = await eventIdOfElement(old);
		const oldBucket = ledgerNamed(env, ledgerNameOf(raisedEnv, old.message.id));
		expect(ledgerNameOf(raisedEnv, old.message.id)).toBe(ledgerNameOf(env, old.message.id));
		const body = await oldBucket.body(old.message.id, eventId);
		expect(JSON.parse(body ?? "null")).toMatchObject({ id: eventId, data: { sequence: 1 } });
		expect(await eventLoader(raisedEnv)(eventId, old.message.id)).toBe(body);
		// Nothing was copied to the bucket it would hash to now.
		const elsewhere = ledgerNamed(env, ledgerName(fnvBucket(old.message.id, 128)));
		expect(await elsewhere.body(old.message.id, eventId)).toBeNull();

		// Erasure finds it there too.
		const erased = await fetchWith(
			raised,
			new Request(`${RELAY_URL}/v1/messages/${old.message.id}`, {
				method: "DELETE",
				headers: { authorization: `Bearer ${TEST_ENV.ADMIN_TOKEN}` },
			}),
		);
		expect(await erased.json()).toMatchObject({ ledgerRows: 1, events: 1 });
		expect(await oldBucket.body(old.message.id, eventId)).toBeNull();
	});

	it("answers 503 not_configured to a callback while LEDGER_BUCKETS is invalid, and stores nothing", async () => {
		const event = element("spec2026__message-sending.object.json", { messageId: newMessageId() });
		const response = await callback("64,128", [event]);
		expect(response.status).toBe(503);
		expect(await response.json()).toMatchObject({ error: { code: "not_configured" } });
		const stub = ledgerNamed(env, ledgerNameOf(env, event.message.id));
		expect(await stub.body(event.message.id, await eventIdOfElement(event))).toBeNull();
	});
});

/** The relay's hash (FNV-1a over the id's UTF-16 units), for checking where a message went. */
function fnvBucket(messageId: string, count: number): number {
	let hash = 0x811c9dc5;
	for (let i = 0; i < messageId.length; i++) {
		hash ^= messageId.charCodeAt(i);
		hash = Math.imul(hash, 0x01000193);
	}
	return (hash >>> 0) % count;
}
