import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { eventTableOf, listEventTables } from "../../src/db/event-tables";
import { insertQuarantine } from "../../src/db/quarantine.repository";
import { eraseMessage } from "../../src/erase/erase-message";
import { eraseMessagesStatements } from "../../src/erase/erasure.repository";
import { ledgerNameOf } from "../../src/ledger/ledger-client";
import { adminFetch, storeElements } from "../helpers/admin";
import { archivedIds } from "../helpers/archive";
import { putArchiveObject } from "../helpers/archive-objects";
import { postCallback } from "../helpers/callback";
import { insertEventRows } from "../helpers/d1-rows";
import { waitForAllForwarded, waitForForwarded } from "../helpers/downstream";
import { type BandwidthElement, element, newMessageId } from "../helpers/fixtures";
import { firstTriesOf } from "../helpers/forward";
import { expectError } from "../helpers/http";
import { ledgerStub, pendingInLedger } from "../helpers/ledger";
import { deliveriesOf, eventsOf, markDead, withEventTablesBroken } from "../helpers/storage";
import { BACKGROUND_WAIT_MS } from "../helpers/wait";
import {
	archivedLine,
	archiveKeyAt,
	archiveObject,
	DAY_MS,
	type ErasureAnswer,
	HOUR_MS,
	ledgerHoldings,
	loggedEvents,
	messageIdCreatedAt,
	NOTHING_ERASED,
	otherBucketMessageId,
	quarantinedOf,
	sameBucketMessageId,
} from "./support";

function eraseOverHttp(messageId: string, cursor?: string): Promise<Response> {
	const query = cursor === undefined ? "" : `?cursor=${encodeURIComponent(cursor)}`;
	return adminFetch(`/v1/messages/${encodeURIComponent(messageId)}${query}`, { method: "DELETE" });
}

async function erased(messageId: string, cursor?: string): Promise<ErasureAnswer> {
	const response = await eraseOverHttp(messageId, cursor);
	expect(response.status, await response.clone().text()).toBe(200);
	return response.json<ErasureAnswer>();
}

/** An element that fails validation (message.to is not an array): it goes to quarantine. */
function invalidOf(messageId: string): BandwidthElement {
	const invalid = element("spec2026__message-delivered_sms.object.json", { messageId });
	invalid.message.to = "+15550002001" as unknown as string[];
	return invalid;
}

afterEach(() => {
	vi.restoreAllMocks();
});

describe("DELETE /v1/messages/:messageId", () => {
	it("removes the message's events, deliveries, quarantine rows, ledger rows and archived lines, and nothing of its neighbours", async () => {
		const messageId = newMessageId();
		const neighbourId = sameBucketMessageId(messageId);
		const [, deliveredId = "", neighbourEventId = ""] = await storeElements([
			element("spec2026__message-sending.object.json", { messageId }),
			element("spec2026__message-delivered_sms.object.json", { messageId }),
			element("spec2026__message-delivered_sms.object.json", { messageId: neighbourId }),
		]);
		const ids = (await eventsOf(messageId)).map((row) => row.id);
		await waitForAllForwarded([...ids, neighbourEventId]);
		// Delivered first try: each has its entry in its consumer batch's row.
		for (const id of [...ids, neighbourEventId]) {
			await vi.waitUntil(async () => (await firstTriesOf(id)).length === 1, {
				timeout: BACKGROUND_WAIT_MS,
				interval: 50,
			});
		}
		await markDead(deliveredId);
		await markDead(neighbourEventId);
		expect(await (await postCallback([invalidOf(messageId), invalidOf(neighbourId)])).json()).toMatchObject({
			quarantined: 2,
		});
		// A day later the hour is closed: the ledger writes it to the archive, the neighbour's line beside ours.
		await ledgerStub(messageId).maintain(Date.now() + DAY_MS);
		const archivedBefore = await archivedIds();
		const keysHolding = new Set(archivedBefore.filter(([, id]) => ids.includes(id)).map(([key]) => key));
		expect(keysHolding.size).toBeGreaterThanOrEqual(1);
		expect(archivedBefore.filter(([, id]) => id === neighbourEventId)).toHaveLength(1);

		const logs = vi.spyOn(console, "log").mockImplementation(() => {});
		expect(await erased(messageId)).toEqual({
			events: 2,
			deliveries: 1,
			quarantine: 1,
			ledgerRows: 2,
			archiveObjectsRewritten: keysHolding.size,
			archiveEvents: 2,
			mediaObjects: 0,
			complete: true,
			cursor: null,
		});

		expect(await eventsOf(messageId)).toEqual([]);
		expect(await deliveriesOf(deliveredId)).toEqual([]);
		for (const id of ids) expect(await firstTriesOf(id)).toEqual([]);
		expect(await quarantinedOf(messageId)).toEqual([]);
		expect(await ledgerHoldings(messageId)).toEqual({ rows: 0, outbox: 0 });
		const archivedAfter = await archivedIds();
		expect(archivedAfter.filter(([, id]) => ids.includes(id))).toEqual([]);
		await expectError(await adminFetch(`/v1/messages/${messageId}`), 404, "not_found");

		// The neighbour keeps everything, its archived line once, in an object whose counts are right again.
		expect(await eventsOf(neighbourId)).toHaveLength(1);
		expect(await deliveriesOf(neighbourEventId)).toHaveLength(1);
		expect(await firstTriesOf(neighbourEventId)).toHaveLength(1);
		expect(await quarantinedOf(neighbourId)).toHaveLength(1);
		expect(await ledgerHoldings(neighbourId)).toMatchObject({ rows: 1 });
		expect(archivedAfter.filter(([, id]) => id === neighbourEventId)).toHaveLength(1);
		for (const key of keysHolding) {
			const object = await archiveObject(key);
			if (object === null) continue;
			expect(object.events).toBe(String(object.ids.length));
			expect(object.bytes).toBe(String(new TextEncoder().encode(object.text).byteLength));
		}

		// The audit line names neither the message nor anything of it in clear.
		const audit = loggedEvents(logs.mock.calls).filter((line) => line.event === "erasure_completed");
		expect(audit).toHaveLength(1);
		expect(audit[0]).toMatchObject({ kind: "message", subject: expect.stringMatching(/^[0-9a-f]{16}$/), events: 2 });
		expect(JSON.stringify(audit)).not.toContain(messageId);

		// Idempotent: a second call finds nothing left and says so.
		expect(await erased(messageId)).toEqual(NOTHING_ERASED);
	});

	it("scans the archive from the creation time in the message id to five days later, in the message's own bucket", async () => {
		const created = Date.now() - 20 * DAY_MS;
		const messageId = messageIdCreatedAt(created);
		const bucket = ledgerNameOf(env, messageId);
		const elsewhere = ledgerNameOf(env, otherBucketMessageId(messageId));
		const shared = archiveKeyAt(created + 2 * HOUR_MS, bucket);
		const onlyOurs = archiveKeyAt(created + 4.5 * DAY_MS, bucket);
		const tooLate = archiveKeyAt(created + 6 * DAY_MS, bucket);
		const otherBucket = archiveKeyAt(created + 2 * HOUR_MS, elsewhere);
		const neighbour = archivedLine("evt_neighbour0000000000000001", "1700000000000neighbour0000001");
		await putArchiveObject(shared, [archivedLine("evt_ours000000000000000000001", messageId), neighbour]);
		await putArchiveObject(onlyOurs, [archivedLine("evt_ours000000000000000000002", messageId)]);
		await putArchiveObject(tooLate, [archivedLine("evt_ours000000000000000000003", messageId)]);
		await putArchiveObject(otherBucket, [archivedLine("evt_ours000000000000000000004", messageId)]);

		expect(await erased(messageId)).toEqual({
			...NOTHING_ERASED,
			archiveObjectsRewritten: 2,
			archiveEvents: 2,
		});
		// Rewritten in place, under the same key, with its counts; an object left empty is removed.
		const rewritten = await archiveObject(shared);
		expect(rewritten?.ids).toEqual([neighbour.id]);
		expect(rewritten?.events).toBe("1");
		expect(rewritten?.bytes).toBe(String(new TextEncoder().encode(`${JSON.stringify(neighbour)}\n`).byteLength));
		expect(await archiveObject(onlyOurs)).toBeNull();
		// Outside the documented bounds: left alone.
		expect((await archiveObject(tooLate))?.ids).toEqual(["evt_ours000000000000000000003"]);
		expect((await archiveObject(otherBucket))?.ids).toEqual(["evt_ours000000000000000000004"]);

		expect(await erased(messageId)).toEqual(NOTHING_ERASED);
	});

	it("reads the hours to rewrite from D1's received_at when the id carries no creation time", async () => {
		const messageId = `legacy-${crypto.randomUUID()}`;
		const receivedAt = Date.now() - 40 * DAY_MS;
		const [eventId = ""] = await insertEventRows([{ eventTime: new Date(receivedAt).toISOString() }]);
		await env.DB.prepare(`UPDATE ${eventTableOf(new Date(receivedAt).toISOString())} SET message_id = ?1 WHERE id = ?2`)
			.bind(messageId, eventId)
			.run();
		const key = archiveKeyAt(receivedAt, ledgerNameOf(env, messageId));
		await putArchiveObject(key, [archivedLine(eventId, messageId), archivedLine("evt_kept", "another-message")]);

		expect(await erased(messageId)).toEqual({
			...NOTHING_ERASED,
			events: 1,
			archiveObjectsRewritten: 1,
			archiveEvents: 1,
		});
		expect((await archiveObject(key))?.ids).toEqual(["evt_kept"]);
	});

	it("stops when its budget runs out and answers a cursor that finishes the job", async () => {
		const created = Date.now() - 30 * DAY_MS;
		const messageId = messageIdCreatedAt(created);
		const bucket = ledgerNameOf(env, messageId);
		const keys = [1, 30, 60, 90, 110].map((hours) => archiveKeyAt(created + hours * HOUR_MS, bucket));
		for (const [index, key] of keys.entries()) {
			await putArchiveObject(key, [
				archivedLine(`evt_budget${index}`, messageId),
				archivedLine(`evt_keep${index}`, "x"),
			]);
		}

		const first = await eraseMessage(env, messageId, { limits: { operations: 40 } });
		expect(first).toMatchObject({ ok: true, value: { complete: false, cursor: expect.any(String) } });
		if (!first.ok || first.value.cursor === null) throw new Error("expected a cursor");
		let answers = [first.value];
		let cursor: string | null = first.value.cursor;
		for (let calls = 0; cursor !== null && calls < 20; calls += 1) {
			const next = await eraseMessage(env, messageId, { cursor, limits: { operations: 40 } });
			if (!next.ok) throw new Error(next.reason);
			answers = [...answers, next.value];
			cursor = next.value.cursor;
		}
		expect(answers.length).toBeGreaterThan(2);
		expect(answers.at(-1)?.complete).toBe(true);
		expect(answers.reduce((sum, answer) => sum + answer.archiveEvents, 0)).toBe(keys.length);
		for (const [index, key] of keys.entries()) expect((await archiveObject(key))?.ids).toEqual([`evt_keep${index}`]);

		// Over HTTP the cursor is a query parameter; a finished job's cursor is null.
		const again = await eraseMessage(env, messageId, { limits: { operations: 40 } });
		if (!again.ok || again.value.cursor === null) throw new Error("expected a cursor");
		expect(await erased(messageId, again.value.cursor)).toMatchObject({ complete: true, cursor: null });
	});

	it("erases what waits in the ledger's outbox while D1 is down, so it never reaches D1 afterwards", async () => {
		const event = element("spec2026__message-delivered_sms.object.json");
		const messageId = event.message.id;
		await withEventTablesBroken(async () => {
			expect((await postCallback([event])).status).toBe(200);
			const [pending] = await vi.waitUntil(
				async () => {
					const rows = await pendingInLedger(messageId);
					return rows.length > 0 ? rows : undefined;
				},
				{ timeout: BACKGROUND_WAIT_MS, interval: 20 },
			);
			await waitForForwarded(pending?.id ?? "");
			vi.spyOn(console, "error").mockImplementation(() => {});
			await expectError(await eraseOverHttp(messageId), 503, "erasure_failed");
			expect(await ledgerHoldings(messageId)).toEqual({ rows: 0, outbox: 0 });
		});
		// D1 is back and the ledger's alarm runs: nothing of the message is left to copy.
		await runDurableObjectAlarm(ledgerStub(messageId));
		expect(await eventsOf(messageId)).toEqual([]);
		expect(await erased(messageId)).toMatchObject({ events: 0, complete: true });
	});

	it("finds a message's rows in D1 on each table's key and indexes, without reading the rest of the tables", async () => {
		const crowd = await insertEventRows(
			Array.from({ length: 300 }, (_, i) => ({ eventTime: new Date(Date.now() - i * 1000).toISOString() })),
		);
		const raw = (messageId: string) => JSON.stringify({ type: "message-sending", message: { id: messageId, to: 1 } });
		const rows = crowd.map((id, i) => ({
			id: `qtn_crowd${String(i).padStart(5, "0")}${id.slice(-12)}`,
			received_at: new Date().toISOString(),
			reason: "test",
			raw_json: raw(`msg-${id}`),
		}));
		// A row that is not JSON at all is stored (and indexed under no message) rather than refused.
		rows.push({ id: "qtn_notjson0000000000000000", received_at: new Date().toISOString(), reason: "t", raw_json: "{" });
		await env.DB.batch(insertQuarantine(env.DB, rows));
		const target = crowd[150] ?? "";

		const statements = eraseMessagesStatements(env.DB, await listEventTables(env.DB), [`msg-${target}`], [target]);
		const { found, deliveries, events, quarantine } = statements;
		const results = await env.DB.batch([...found, deliveries, ...events, quarantine]);
		const metas = results.map((result) => result.meta);
		const erased = metas.slice(found.length + 1, found.length + 1 + events.length);
		expect([erased.reduce((sum, meta) => sum + meta.changes, 0), metas.at(-1)?.changes]).toEqual([1, 1]);
		for (const meta of metas) expect(meta.rows_read).toBeLessThan(20);
	});

	it.each([
		[`/v1/messages/${"x".repeat(129)}`, "messageId"],
		["/v1/messages/1700000000000abc?cursor=%%%", "cursor"],
		["/v1/messages/1700000000000abc?cursor=eyJ2IjoxfQ", "cursor"],
		["/v1/messages/1700000000000abc?force=true", "force"],
	])("answers 400 invalid_parameter to DELETE %s, naming %s", async (path, name) => {
		const message = await expectError(await adminFetch(path, { method: "DELETE" }), 400, "invalid_parameter");
		expect(message.startsWith(`${name}: `)).toBe(true);
	});

	it("completes when D1 holds no event table at all (retention or the budget dropped every one)", async () => {
		const messageId = newMessageId();
		const tables = await listEventTables(env.DB);
		for (const table of tables) await env.DB.exec(`ALTER TABLE ${table} RENAME TO parked_${table}`);
		try {
			expect(await listEventTables(env.DB)).toEqual([]);
			const result = await eraseMessage(env, messageId);
			expect(result.ok && result.value.complete).toBe(true);
		} finally {
			for (const table of tables) await env.DB.exec(`ALTER TABLE parked_${table} RENAME TO ${table}`);
		}
	});

	it("refuses a cursor made for another message", async () => {
		const created = Date.now() - 30 * DAY_MS;
		const messageId = messageIdCreatedAt(created);
		await putArchiveObject(archiveKeyAt(created + HOUR_MS, ledgerNameOf(env, messageId)), [
			archivedLine("evt_c", messageId),
		]);
		const partial = await eraseMessage(env, messageId, { limits: { operations: 1 } });
		if (!partial.ok || partial.value.cursor === null) throw new Error("expected a cursor");
		const message = await expectError(
			await eraseOverHttp(messageIdCreatedAt(created), partial.value.cursor),
			400,
			"invalid_parameter",
		);
		expect(message.startsWith("cursor: ")).toBe(true);
	});

	it("still answers GET with 405 for other methods and needs the token", async () => {
		await expectError(await adminFetch("/v1/messages/abc", { method: "DELETE", token: null }), 401, "unauthorized");
		await expectError(await adminFetch("/v1/messages/abc", { method: "PUT" }), 405, "method_not_allowed");
	});
});
