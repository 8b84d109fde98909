import { env } from "cloudflare:workers";
import { afterEach, expect, it, vi } from "vitest";
import { createAttemptsTable, dayOfIso, insertFirstTries } from "../../src/db/attempts.repository";
import { createEventTable, eventTableOf } from "../../src/db/event-tables";
import { ledgerNameOf } from "../../src/ledger/ledger-client";
import { adminFetch, adminPost, eventIdOfElement } from "../helpers/admin";
import { putArchiveObject } from "../helpers/archive-objects";
import { aroundMethod, failD1BatchOnce } from "../helpers/binding-faults";
import { postCallback } from "../helpers/callback";
import { freshPath, hookUrl, receivedAt, waitForForwarded } from "../helpers/downstream";
import { type BandwidthElement, element } from "../helpers/fixtures";
import { consume, firstTriesOf, jobFor, storedEvent, waitForFirstTries } from "../helpers/forward";
import { pendingInLedger } from "../helpers/ledger";
import { deliveriesOf, eventsOf } from "../helpers/storage";
import {
	archivedLine,
	archiveKeyAt,
	DAY_MS,
	freshNumber,
	HOUR_MS,
	loggedEvents,
	messageIdCreatedAt,
	refusingInserts,
} from "./support";

/*
 * An erased message's forwards: one still in the queue when its message is erased (a retry waiting
 * out its delay, a job a paused destination parked, a batch not yet read) must not deliver the
 * event afterwards, nor leave a row behind; and the first tries of its events go wherever the
 * erasure found them (D1, a ledger, the archive), even when a call fails halfway (issue 17).
 */

afterEach(() => {
	vi.restoreAllMocks();
});

async function erase(messageId: string): Promise<void> {
	const answer = await adminFetch(`/v1/messages/${messageId}`, { method: "DELETE" });
	expect(answer.status).toBe(200);
	expect(await answer.json()).toMatchObject({ complete: true });
}

it("acks a queued retry of an erased message's event without sending it, recording it or alerting", async () => {
	const event = await storedEvent();
	await erase(event.messageId);
	const path = freshPath();
	const info = vi.spyOn(console, "log");
	const errors = vi.spyOn(console, "error");
	// Its retry carries the event, and the one that does not reads it from the ledger (gone now).
	const { result, retries } = await consume(
		[
			{ body: { ...jobFor(event), destination: "default" }, attempts: 2 },
			{ body: { ...jobFor(event, false), messageId: event.messageId, destination: "default" }, attempts: 2 },
		],
		{ FORWARD_URL: hookUrl(path) },
	);
	expect(retries).toEqual([]);
	expect(result.explicitAcks).toHaveLength(2);
	expect(await receivedAt(path)).toEqual([]);
	expect(await deliveriesOf(event.id)).toEqual([]);
	expect(await firstTriesOf(event.id)).toEqual([]);
	const logged = loggedEvents([...info.mock.calls, ...errors.mock.calls]);
	expect(logged.filter((line) => line.event === "forward_erased")).toHaveLength(2);
	expect(logged.filter((line) => line.event === "forward_dead")).toEqual([]);
});

it("still delivers an event of the message received after its erasure", async () => {
	const first = await storedEvent();
	await erase(first.messageId);
	// A later status of the same message: stored as new, and forwarded as any event is.
	const later = element("spec2026__message-failed_4432.object.json", { messageId: first.messageId });
	expect((await postCallback([later])).status).toBe(200);
	const id = await eventIdOfElement(later);
	await waitForForwarded(id);
	expect((await waitForFirstTries([id])).get(id)).toEqual(["delivered"]);
});

/**
 * An event D1 refuses while its forward, taken by the queue, is delivered and its first try
 * recorded: only its ledger holds it. `then` runs while D1 still refuses it.
 */
async function forwardedWhileOnlyInLedger(then: (event: BandwidthElement) => Promise<void>): Promise<string> {
	const event = element("spec2026__message-delivered_sms.object.json");
	const eventId = await eventIdOfElement(event);
	const table = eventTableOf(new Date().toISOString());
	await createEventTable(env.DB, table).run();
	await refusingInserts(table, async () => {
		expect((await postCallback([event])).status).toBe(200);
		await waitForForwarded(eventId);
		await waitForFirstTries([eventId]);
		expect((await pendingInLedger(event.message.id)).length).toBe(1);
		await then(event);
	});
	return eventId;
}

it("takes out the first try of an event forwarded while it waited in its ledger for D1", async () => {
	let messageId = "";
	const eventId = await forwardedWhileOnlyInLedger(async (event) => {
		messageId = event.message.id;
		await erase(messageId);
	});
	expect(await firstTriesOf(eventId)).toEqual([]);
	expect(await eventsOf(messageId)).toEqual([]);
});

it("takes out the first tries of events known only from the archive, by message and by number", async () => {
	for (const by of ["message", "number"] as const) {
		const created = Date.now() - 3 * DAY_MS;
		const messageId = messageIdCreatedAt(created);
		const number = freshNumber();
		const receivedAtIso = new Date(created + HOUR_MS).toISOString();
		const eventId = `evt_archived${by}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
		// D1 and the ledger let the event go long ago; its archive line and its first try remain.
		const line = { ...archivedLine(eventId, messageId, { from: number }) };
		(line.data as Record<string, unknown>).receivedAt = receivedAtIso;
		await putArchiveObject(archiveKeyAt(created + HOUR_MS, ledgerNameOf(env, messageId)), [line]);
		const day = dayOfIso(receivedAtIso);
		await createAttemptsTable(env.DB, day).run();
		const { statements } = insertFirstTries(
			env.DB,
			[
				{
					eventId,
					destination: "default",
					outcome: "delivered",
					httpStatus: 204,
					durationMs: 5,
					error: null,
					receivedAt: receivedAtIso,
				},
			],
			new Date(created + HOUR_MS + 1000).toISOString(),
		);
		await env.DB.batch(statements);
		expect(await firstTriesOf(eventId)).toHaveLength(1);

		const answer =
			by === "message"
				? await adminFetch(`/v1/messages/${messageId}`, { method: "DELETE" })
				: await adminPost("/v1/erase", { phoneNumber: number });
		expect(answer.status).toBe(200);
		expect(await answer.json()).toMatchObject({ archiveEvents: 1, complete: true });
		expect(await firstTriesOf(eventId)).toEqual([]);
	}
});

it("still takes an event's first try when a number erasure is repeated after its first-try step failed", async () => {
	const number = freshNumber();
	const event = await storedEvent("spec2026__message-delivered_sms.object.json", {
		to: number,
		message: { to: [number] },
	});
	expect(await firstTriesOf(event.id)).toHaveLength(1);
	let failures = 1;
	aroundMethod(env.DB, "prepare", (call, args) => {
		if (failures > 0 && String(args[0]).trimStart().startsWith("UPDATE attempts_")) {
			failures -= 1;
			throw new Error("D1_ERROR: simulated");
		}
		return call();
	});
	expect((await adminPost("/v1/erase", { phoneNumber: number })).status).toBeGreaterThanOrEqual(500);
	const retried = await adminPost("/v1/erase", { phoneNumber: number });
	expect(retried.status).toBe(200);
	expect(await retried.json()).toMatchObject({ complete: true });
	expect(await eventsOf(event.messageId)).toEqual([]);
	expect(await firstTriesOf(event.id)).toEqual([]);
});

it("still takes the first try of an event only its ledger held when the erasure is repeated after failing once the ledger let go", async () => {
	const eventId = await forwardedWhileOnlyInLedger(async (event) => {
		// The first call's D1 step fails at its first read, once the ledger has let go of the event.
		failD1BatchOnce(env.DB, (sql) => sql.includes("SELECT id, received_at"));
		const failed = await adminFetch(`/v1/messages/${event.message.id}`, { method: "DELETE" });
		expect(failed.status).toBeGreaterThanOrEqual(500);
		expect((await pendingInLedger(event.message.id)).length).toBe(0);
		await erase(event.message.id);
	});
	expect(await firstTriesOf(eventId)).toEqual([]);
});
