import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { erasePhoneNumber } from "../../src/erase/erase-phone-number";
import { maintainLedgers } from "../../src/maintenance/maintain-ledgers";
import { adminFetch, adminPost, storeElements } from "../helpers/admin";
import { archivedIds } from "../helpers/archive";
import { clearArchive, putArchiveObject } from "../helpers/archive-objects";
import { postCallback } from "../helpers/callback";
import { clearTables } from "../helpers/d1-rows";
import { waitForAllForwarded } from "../helpers/downstream";
import { type BandwidthElement, element, newMessageId } from "../helpers/fixtures";
import { expectError } from "../helpers/http";
import { ledgerStub } from "../helpers/ledger";
import { deliveriesOf, eventsOf, markDead } from "../helpers/storage";
import {
	archivedLine,
	archiveObject,
	DAY_MS,
	type ErasureAnswer,
	freshNumber,
	ledgerHoldings,
	loggedEvents,
	NOTHING_ERASED,
	quarantinedOf,
	refusingInserts,
} from "./support";

interface Traffic {
	number: string;
	/** Messages the number is part of: everything of them goes. */
	involved: string[];
	/** A message between other numbers only: nothing of it goes. */
	unrelated: string;
	involvedEventIds: string[];
	unrelatedEventId: string;
	deadEventIds: string[];
	unrelatedDeadEventId: string;
	quarantinedInvolved: string;
	quarantinedUnrelated: string;
}

/**
 * Four messages through the real callback: one the number sent, one it received, a group message
 * it is one of two recipients of (both recipients' events go: the message is the number's), and
 * one between two other numbers. Two quarantined elements, one from the number.
 */
async function traffic(): Promise<Traffic> {
	const number = freshNumber();
	const [other, third, fourth] = [freshNumber(), freshNumber(), freshNumber()];
	const [sent, received, group, unrelated] = [newMessageId(), newMessageId(), newMessageId(), newMessageId()];
	const elements = [
		element("spec2026__message-sending.object.json", {
			messageId: sent,
			to: other,
			message: { from: number, owner: number, to: [other] },
		}),
		element("spec2026__message-delivered_sms.object.json", {
			messageId: sent,
			to: other,
			message: { from: number, owner: number, to: [other] },
		}),
		element("spec2026__message-received_sms.object.json", {
			messageId: received,
			to: number,
			message: { from: other, owner: number, to: [number] },
		}),
		element("spec2026__message-delivered_group-mms.object.json", {
			messageId: group,
			to: number,
			message: { from: third, owner: third, to: [number, fourth] },
		}),
		element("spec2026__message-delivered_group-mms.object.json", {
			messageId: group,
			to: fourth,
			message: { from: third, owner: third, to: [number, fourth] },
		}),
		element("spec2026__message-delivered_sms.object.json", {
			messageId: unrelated,
			to: fourth,
			message: { from: third, owner: third, to: [fourth] },
		}),
	];
	const ids = await storeElements(elements);
	await waitForAllForwarded(ids);
	const [, sentDelivered = "", , , groupFourth = "", unrelatedEventId = ""] = ids;
	for (const id of [sentDelivered, groupFourth, unrelatedEventId]) await markDead(id);

	const invalid = (messageId: string, from: string): BandwidthElement => {
		const bad = element("spec2026__message-sending.object.json", { messageId, message: { from } });
		bad.message.to = 42 as unknown as string[];
		return bad;
	};
	const quarantinedInvolved = newMessageId();
	const quarantinedUnrelated = newMessageId();
	expect(
		await (await postCallback([invalid(quarantinedInvolved, number), invalid(quarantinedUnrelated, third)])).json(),
	).toMatchObject({ quarantined: 2 });
	return {
		number,
		involved: [sent, received, group],
		unrelated,
		involvedEventIds: ids.slice(0, 5),
		unrelatedEventId,
		deadEventIds: [sentDelivered, groupFourth],
		unrelatedDeadEventId: unrelatedEventId,
		quarantinedInvolved,
		quarantinedUnrelated,
	};
}

/**
 * Runs every ledger's maintenance a little further in the future each time: a ledger that has
 * written an hour files later events under its next open hour, which a run at the same time
 * would not close yet.
 */
let daysAhead = 0;
function archiveEverything(): Promise<unknown> {
	daysAhead += 1;
	return maintainLedgers(env, Date.now() + daysAhead * DAY_MS);
}

async function erased(body: unknown): Promise<ErasureAnswer> {
	const response = await adminPost("/v1/erase", body);
	expect(response.status, await response.clone().text()).toBe(200);
	return response.json<ErasureAnswer>();
}

beforeEach(async () => {
	// The walk reads every row: each test starts from empty tables and an empty bucket.
	await clearTables();
	await clearArchive();
});
afterEach(() => {
	vi.restoreAllMocks();
});

/**
 * A message the archive alone names with its number: sent from a fresh number, found in D1 by its
 * ledger a minute on (no handoff left, which the walk's first step asks every ledger for), then let
 * go by D1 (the byte budget), and archived under an hour long past DEDUPE_DAYS: the ledger, which
 * forgets a day only once it is archived, still holds the row.
 */
async function onlyInArchiveAndLedger(): Promise<{ number: string; messageId: string; eventId: string; key: string }> {
	const number = freshNumber();
	const messageId = newMessageId();
	const sent = element("spec2026__message-delivered_sms.object.json", {
		messageId,
		to: freshNumber(),
		message: { from: number, owner: number },
	});
	const [eventId = ""] = await storeElements([sent]);
	// Whatever the maintenance run archived goes: the old hour below stands in.
	await ledgerStub(messageId).maintain(Date.now() + 65_000);
	await clearArchive();
	const [row] = await eventsOf(messageId);
	await env.DB.prepare(`DELETE FROM ${row!.table} WHERE message_id = ?1`).bind(messageId).run();
	const key = "events/2026/01/05/10/ledger-07-000.ndjson.gz";
	await putArchiveObject(key, [archivedLine(eventId, messageId, { from: number, recipient: sent.to })]);
	expect(await ledgerHoldings(messageId)).toMatchObject({ rows: 1 });
	return { number, messageId, eventId, key };
}

describe("POST /v1/erase", () => {
	it("removes every event the number sent, received or owns, the rest of their messages, and nothing else", async () => {
		const t = await traffic();
		// Later, every ledger has written the hour to the archive.
		await archiveEverything();
		// And an hour from long ago, written before D1 dropped it: only the archive still has it.
		const old = "events/2026/01/05/10/ledger-07-000.ndjson.gz";
		const oldSent = archivedLine("evt_oldsent", "1767600000000oldsent000000001", {
			from: t.number,
			recipient: "+15550000009",
		});
		const oldGroupOther = archivedLine("evt_oldgroup", "1767600000000oldgroup00000001", {
			from: "+15550000008",
			recipient: "+15550000009",
			to: [t.number, "+15550000009"],
		});
		const oldUnrelated = archivedLine("evt_oldother", "1767600000000oldother00000001");
		await putArchiveObject(old, [oldSent, oldUnrelated, oldGroupOther]);
		const archivedBefore = await archivedIds();
		const keysHolding = new Set(
			archivedBefore.filter(([, id]) => t.involvedEventIds.includes(id) || id.startsWith("evt_old")).map(([k]) => k),
		);

		const logs = vi.spyOn(console, "log").mockImplementation(() => {});
		expect(await erased({ phoneNumber: t.number })).toEqual({
			events: 5,
			deliveries: 2,
			quarantine: 1,
			ledgerRows: 5,
			// The old object is rewritten, keeping its unrelated line.
			archiveObjectsRewritten: keysHolding.size,
			archiveEvents: 7,
			mediaObjects: 0,
			complete: true,
			cursor: null,
		});

		for (const messageId of t.involved) {
			expect(await eventsOf(messageId)).toEqual([]);
			expect(await ledgerHoldings(messageId)).toEqual({ rows: 0, outbox: 0 });
		}
		for (const id of t.deadEventIds) expect(await deliveriesOf(id)).toEqual([]);
		expect(await quarantinedOf(t.quarantinedInvolved)).toEqual([]);
		const archivedAfter = (await archivedIds()).map(([, id]) => id);
		for (const id of [...t.involvedEventIds, oldSent.id, oldGroupOther.id]) expect(archivedAfter).not.toContain(id);

		expect(await eventsOf(t.unrelated)).toHaveLength(1);
		expect(await ledgerHoldings(t.unrelated)).toMatchObject({ rows: 1 });
		expect(await deliveriesOf(t.unrelatedDeadEventId)).toHaveLength(1);
		expect(await quarantinedOf(t.quarantinedUnrelated)).toHaveLength(1);
		expect(archivedAfter.filter((id) => id === t.unrelatedEventId)).toHaveLength(1);
		expect(await archiveObject(old)).toMatchObject({ ids: [oldUnrelated.id], events: "1" });

		const audit = loggedEvents(logs.mock.calls).filter((line) => line.event === "erasure_completed");
		expect(audit).toHaveLength(1);
		expect(audit[0]).toMatchObject({ kind: "phone_number", subject: expect.stringMatching(/^[0-9a-f]{16}$/) });
		expect(JSON.stringify(audit)).not.toContain(t.number.slice(1));

		expect(await erased({ phoneNumber: t.number })).toEqual(NOTHING_ERASED);
	});

	it("asks the ledger of a message found only in an old archive hour: after an archive outage it still remembers the day", async () => {
		const { number, messageId } = await onlyInArchiveAndLedger();
		expect(await erased({ phoneNumber: number })).toMatchObject({ archiveEvents: 1, ledgerRows: 1, complete: true });
		expect(await ledgerHoldings(messageId)).toEqual({ rows: 0, outbox: 0 });
	});

	it("erases a message found only in the archive from its ledger before it takes the lines out: a call that fails in between leaves them for the next", async () => {
		const { number, messageId, eventId, key } = await onlyInArchiveAndLedger();
		// The first call fails once it has found the message in the archive (D1 refuses the tombstone,
		// the first of the message's erasure steps; a ledger that times out fails it the same way).
		vi.spyOn(console, "log").mockImplementation(() => {});
		await expect(refusingInserts("erased_messages", () => erasePhoneNumber(env, number))).rejects.toThrow();
		expect(await archiveObject(key)).toMatchObject({ ids: [eventId] });

		// Called again, it finds the message there again, and the ledger forgets it.
		const again = await erasePhoneNumber(env, number);
		expect(again).toMatchObject({ ok: true, value: { archiveEvents: 1, ledgerRows: 1, complete: true } });
		expect(await ledgerHoldings(messageId)).toEqual({ rows: 0, outbox: 0 });
		expect(await archiveObject(key)).toBeNull();
	});

	it("walks D1, the quarantine and the archive in bounded chunks, continuing from the cursor it answers", async () => {
		const t = await traffic();
		await archiveEverything();
		const limits = { operations: 6, eventChunkRows: 2, quarantineChunkRows: 1 };

		const answers: ErasureAnswer[] = [];
		let cursor: string | undefined;
		for (let calls = 0; calls < 100; calls += 1) {
			const result = await erasePhoneNumber(env, t.number, { cursor, limits });
			if (!result.ok) throw new Error(result.reason);
			answers.push(result.value);
			if (result.value.complete) break;
			expect(result.value.cursor).toEqual(expect.any(String));
			cursor = result.value.cursor ?? undefined;
		}
		expect(answers.length).toBeGreaterThan(3);
		expect(answers.at(-1)).toMatchObject({ complete: true, cursor: null });
		const total = (key: keyof ErasureAnswer) => answers.reduce((sum, answer) => sum + Number(answer[key]), 0);
		expect([
			total("events"),
			total("deliveries"),
			total("quarantine"),
			total("ledgerRows"),
			total("archiveEvents"),
		]).toEqual([5, 2, 1, 5, 5]);
		for (const messageId of t.involved) expect(await eventsOf(messageId)).toEqual([]);
		expect(await eventsOf(t.unrelated)).toHaveLength(1);
		expect(await quarantinedOf(t.quarantinedInvolved)).toEqual([]);
		expect(await quarantinedOf(t.quarantinedUnrelated)).toHaveLength(1);
		expect((await archivedIds()).map(([, id]) => id).filter((id) => t.involvedEventIds.includes(id))).toEqual([]);
	});

	it("continues over HTTP with the cursor, and refuses a cursor made for another number", async () => {
		const number = freshNumber();
		const messageId = newMessageId();
		await storeElements([
			element("spec2026__message-sending.object.json", { messageId, message: { from: number, owner: number } }),
		]);
		const partial = await erasePhoneNumber(env, number, { limits: { operations: 1, eventChunkRows: 1 } });
		if (!partial.ok || partial.value.cursor === null) throw new Error("expected a cursor");

		const message = await expectError(
			await adminPost("/v1/erase", { phoneNumber: freshNumber(), cursor: partial.value.cursor }),
			400,
			"invalid_parameter",
		);
		expect(message.startsWith("cursor: ")).toBe(true);
		expect(await erased({ phoneNumber: number, cursor: partial.value.cursor })).toMatchObject({ complete: true });
		expect(await eventsOf(messageId)).toEqual([]);
	});

	it.each([
		[{ phoneNumber: "5551234567" }, "phoneNumber"],
		[{ phoneNumber: "+1 555 123 4567" }, "phoneNumber"],
		[{ phoneNumber: "+" }, "phoneNumber"],
		[{ phoneNumber: 15551234567 }, "phoneNumber"],
		[{}, "phoneNumber"],
		[{ phoneNumber: "+15551234567", cursor: "%%%" }, "cursor"],
		[{ phoneNumber: "+15551234567", everything: true }, "everything"],
	])("answers 400 invalid_parameter to %j, naming %s", async (body, name) => {
		const message = await expectError(await adminPost("/v1/erase", body), 400, "invalid_parameter");
		expect(message.startsWith(`${name}: `)).toBe(true);
	});

	it("answers only POST, and only with the token", async () => {
		const response = await adminFetch("/v1/erase");
		expect(response.headers.get("allow")).toBe("POST");
		await expectError(response, 405, "method_not_allowed");
		await expectError(await adminFetch("/v1/erase", { method: "POST", token: null, body: "{}" }), 401, "unauthorized");
	});
});
