import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { quarantineIdOf } from "../../src/bandwidth/event-id";
import { insertQuarantine } from "../../src/db/quarantine.repository";
import { reprocessQuarantined } from "../../src/maintenance/reprocess-quarantined";
import { adminPost, eventIdOfElement } from "../helpers/admin";
import { waitForForwarded } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { ledgerStub, partitionsOf } from "../helpers/ledger";
import { eventsOf, waitForEvents } from "../helpers/storage";

const DAY_MS = 24 * 60 * 60 * 1000;

/** A quarantine row as a validator that was too strict at the time would have left it. */
async function quarantined(raw: unknown, receivedAt = new Date().toISOString()): Promise<string> {
	const rawJson = JSON.stringify(raw);
	const id = await quarantineIdOf(rawJson);
	await env.DB.batch(
		insertQuarantine(env.DB, [{ id, received_at: receivedAt, reason: "message.to: an old rule", raw_json: rawJson }]),
	);
	return id;
}

type StoredRow = { reprocessed_at: string | null; reprocess_outcome: string | null; reprocess_event_id: string | null };

async function rowOf(id: string): Promise<StoredRow | null> {
	return env.DB.prepare("SELECT reprocessed_at, reprocess_outcome, reprocess_event_id FROM quarantine WHERE id = ?1")
		.bind(id)
		.first<StoredRow>();
}

/** Runs the ledger's maintenance far enough ahead that it forgets every day it holds. */
async function forgetEverything(messageId: string): Promise<void> {
	for (let days = 1; days <= 12 && (await partitionsOf(messageId)).length > 0; days += 1) {
		await ledgerStub(messageId).maintain(Date.now() + days * DAY_MS);
	}
	expect(await partitionsOf(messageId)).toEqual([]);
}

describe("reprocessing a quarantined element", () => {
	it("stores it once, records the event, and answers the recorded outcome ever after, even once the ledger has forgotten it", async () => {
		const valid = element("spec2026__message-delivered_sms.object.json");
		const eventId = await eventIdOfElement(valid);
		const id = await quarantined(valid, "2020-01-01T00:00:00.000Z");
		// Accepted as received now: the ledger files it under today, which it forgets in DEDUPE_DAYS.
		const first = new Date().toISOString();

		expect(await reprocessQuarantined(env, id, first)).toEqual({
			ok: true,
			value: { id, outcome: "stored", eventId },
		});
		await waitForEvents(valid.message.id, 1);
		await waitForForwarded(eventId);
		expect(await rowOf(id)).toEqual({
			reprocessed_at: first,
			reprocess_outcome: "stored",
			reprocess_event_id: eventId,
		});

		// Past DEDUPE_DAYS the ledger no longer knows the event; a second run must not store it again.
		await forgetEverything(valid.message.id);
		vi.spyOn(console, "log").mockImplementation(() => {});
		expect(await reprocessQuarantined(env, id, new Date(Date.now() + 10 * DAY_MS).toISOString())).toEqual({
			ok: true,
			value: { id, outcome: "stored", eventId, reprocessedAt: first, repeated: true },
		});
		expect(await partitionsOf(valid.message.id)).toEqual([]);
		expect(await eventsOf(valid.message.id)).toHaveLength(1);
		expect(await rowOf(id)).toEqual({
			reprocessed_at: first,
			reprocess_outcome: "stored",
			reprocess_event_id: eventId,
		});

		// The same over HTTP.
		const response = await adminPost(`/v1/quarantine/${id}/reprocess`);
		expect(await response.json()).toEqual({ id, outcome: "stored", eventId, reprocessedAt: first, repeated: true });
	});

	it("treats a duplicate as final too: the event is held already", async () => {
		const valid = element("spec2026__message-sending.object.json");
		const eventId = await eventIdOfElement(valid);
		const id = await quarantined(valid);
		const other = await quarantined({ ...valid, unknownField: 1 });

		expect(await reprocessQuarantined(env, other, new Date().toISOString())).toMatchObject({
			value: { outcome: "stored" },
		});
		const first = new Date().toISOString();
		expect(await reprocessQuarantined(env, id, first)).toEqual({
			ok: true,
			value: { id, outcome: "duplicate", eventId },
		});
		await forgetEverything(valid.message.id);
		expect(await reprocessQuarantined(env, id, new Date(Date.now() + 10 * DAY_MS).toISOString())).toEqual({
			ok: true,
			value: { id, outcome: "duplicate", eventId, reprocessedAt: first, repeated: true },
		});
		expect(await partitionsOf(valid.message.id)).toEqual([]);
	});

	it("runs a still-invalid element again on every call, keeping the time of the first", async () => {
		const invalid = element("spec2026__message-sending.object.json");
		invalid.time = "the day before yesterday";
		const id = await quarantined(invalid);

		const first = await reprocessQuarantined(env, id, "2031-01-01T00:00:00.000Z");
		expect(first).toMatchObject({ ok: true, value: { id, outcome: "still_invalid" } });
		const second = await reprocessQuarantined(env, id, "2031-01-05T00:00:00.000Z");
		expect(second).toMatchObject({ ok: true, value: { id, outcome: "still_invalid" } });
		expect(second).not.toMatchObject({ value: { repeated: true } });
		expect(await rowOf(id)).toEqual({
			reprocessed_at: "2031-01-01T00:00:00.000Z",
			reprocess_outcome: "still_invalid",
			reprocess_event_id: null,
		});
	});

	it("stores concurrent reprocesses of one row once, and records it stored", async () => {
		const valid = element("spec2026__message-received_sms.object.json");
		const eventId = await eventIdOfElement(valid);
		const id = await quarantined(valid);

		const answers = await Promise.all([
			reprocessQuarantined(env, id, "2031-01-01T00:00:00.000Z"),
			reprocessQuarantined(env, id, "2031-01-01T00:00:00.001Z"),
		]);
		// The ledger accepts the event once: one call stored it, the other found it held.
		for (const answer of answers) expect(answer).toMatchObject({ ok: true, value: { id, eventId } });
		expect(answers.map((answer) => (answer.ok ? answer.value.outcome : null))).toContain("stored");
		expect(await rowOf(id)).toMatchObject({ reprocess_outcome: "stored", reprocess_event_id: eventId });
		expect(await waitForEvents(valid.message.id, 1)).toHaveLength(1);
	});
});
