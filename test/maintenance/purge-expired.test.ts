import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { insertQuarantine, markReprocessed, type ReprocessOutcome } from "../../src/db/quarantine.repository";
import worker from "../../src/index";
import { purgeExpired } from "../../src/maintenance/purge-expired";
import { storeElements } from "../helpers/admin";
import { element, newMessageId } from "../helpers/fixtures";
import { deliveriesOf, eventsOf, statusesOf, waitForDeliveries } from "../helpers/storage";

const DAY_MS = 24 * 60 * 60 * 1000;
/** wrangler.toml's RETENTION_DAYS. */
const RETENTION_DAYS = 30;
const FAR_FUTURE = "2999-01-01T00:00:00.000Z";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One message, stored and forwarded: its events, status and deliveries rows all exist. */
async function storedMessage(events = 1): Promise<{ messageId: string; ids: string[] }> {
	const messageId = newMessageId();
	const base = Date.parse("2031-01-01T00:00:00.000Z");
	const ids = await storeElements(
		Array.from({ length: events }, (_, i) =>
			element("spec2026__message-received_sms.object.json", {
				messageId,
				time: new Date(base + i * 1000).toISOString(),
			}),
		),
	);
	await Promise.all(ids.map((id) => waitForDeliveries(id, 1)));
	return { messageId, ids };
}

async function quarantineRow(label: string, reprocessed?: { at: string; outcome: ReprocessOutcome }): Promise<string> {
	const id = `qtn_${label.padEnd(26, "a")}`;
	await env.DB.batch(
		insertQuarantine(env.DB, [{ id, received_at: "2020-01-01T00:00:00.000Z", reason: "test", raw_json: "{}" }]),
	);
	if (reprocessed) await markReprocessed(env.DB, id, reprocessed.at, reprocessed.outcome);
	return id;
}

async function quarantineIds(): Promise<string[]> {
	const rows = await env.DB.prepare("SELECT id FROM quarantine ORDER BY id").all<{ id: string }>();
	return rows.results.map((row) => row.id);
}

async function countRows(table: string): Promise<number> {
	return (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<number>("n")) ?? 0;
}

describe("retention purge", () => {
	it("the cron deletes rows older than RETENTION_DAYS before its scheduled time and keeps the rest", async () => {
		const old = await storedMessage();
		await pause(5);
		const cutoff = new Date().toISOString();
		await pause(5);
		const recent = await storedMessage();
		const resolvedOld = await quarantineRow("resolvedold", { at: "2020-02-01T00:00:00.000Z", outcome: "stored" });
		const duplicateOld = await quarantineRow("duplicateold", { at: "2020-02-01T00:00:00.000Z", outcome: "duplicate" });
		const stillInvalid = await quarantineRow("stillinvalid", {
			at: "2020-02-01T00:00:00.000Z",
			outcome: "still_invalid",
		});
		const neverReprocessed = await quarantineRow("neverreprocessed");
		const resolvedRecent = await quarantineRow("resolvedrecent", {
			at: new Date(Date.parse(cutoff) + 1000).toISOString(),
			outcome: "stored",
		});

		const controller = createScheduledController({
			scheduledTime: Date.parse(cutoff) + RETENTION_DAYS * DAY_MS,
			cron: "17 * * * *",
		});
		await worker.scheduled(controller, env);

		expect(await eventsOf(old.messageId)).toEqual([]);
		expect(await statusesOf(old.messageId)).toEqual([]);
		expect(await deliveriesOf(old.ids[0] ?? "")).toEqual([]);
		expect(await eventsOf(recent.messageId)).toHaveLength(1);
		expect(await statusesOf(recent.messageId)).toHaveLength(1);
		expect(await deliveriesOf(recent.ids[0] ?? "")).toHaveLength(1);
		const kept = await quarantineIds();
		expect(kept).toEqual(expect.arrayContaining([stillInvalid, neverReprocessed, resolvedRecent]));
		expect(kept).not.toContain(resolvedOld);
		expect(kept).not.toContain(duplicateOld);
	});

	it("deletes in bounded chunks and leaves the rest for the next run", async () => {
		// Start from empty tables, so the counts below are this test's rows only.
		expect((await purgeExpired(env.DB, FAR_FUTURE)).complete).toBe(true);
		const { messageId } = await storedMessage(12);

		const first = await purgeExpired(env.DB, FAR_FUTURE, { chunkRows: 5, maxRounds: 2 });
		expect(first).toEqual({
			cutoff: FAR_FUTURE,
			deleted: { events: 10, deliveries: 10, quarantine: 0 },
			rounds: 2,
			complete: false,
		});
		expect(await eventsOf(messageId)).toHaveLength(2);
		expect(await countRows("deliveries")).toBe(2);

		const second = await purgeExpired(env.DB, FAR_FUTURE, { chunkRows: 5, maxRounds: 2 });
		expect(second).toEqual({
			cutoff: FAR_FUTURE,
			deleted: { events: 2, deliveries: 2, quarantine: 0 },
			rounds: 1,
			complete: true,
		});
		expect(await countRows("events")).toBe(0);
	});

	it("purges nothing that is not older than the cutoff", async () => {
		const { messageId, ids } = await storedMessage(2);
		const report = await purgeExpired(env.DB, "2000-01-01T00:00:00.000Z");
		expect(report).toMatchObject({
			deleted: { events: 0, deliveries: 0, quarantine: 0 },
			rounds: 1,
			complete: true,
		});
		expect(await eventsOf(messageId)).toHaveLength(2);
		expect(await deliveriesOf(ids[1] ?? "")).toHaveLength(1);
	});
});
