import { expect, it } from "vitest";
import { ARCHIVE_CLOSE_MS } from "../../src/ledger/archive-hours";
import { archiveCounts, archivedIds } from "../helpers/archive";
import { postCallback } from "../helpers/callback";
import { waitForForwarded } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { ledgerStub, partitionsOf, pendingInLedger } from "../helpers/ledger";
import { eventsOf, waitForEvents, withEventTablesBroken } from "../helpers/storage";

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

it("archives each closed hour once, remembers ids for DEDUPE_DAYS, then drops the whole day", async () => {
	const event = element("spec2026__message-delivered_sms.object.json");
	const messageId = event.message.id;
	await postCallback([event]);
	const [row] = await waitForEvents(messageId, 1);
	await waitForForwarded(row!.id);
	const stub = ledgerStub(messageId);

	// The current hour is still open: nothing of it is archived yet.
	const now = await stub.maintain(Date.now());
	expect(now.archivedThrough! <= new Date().toISOString().slice(0, 13)).toBe(true);
	expect((await archiveCounts()).get(row!.id)).toBeUndefined();

	// A day later: archived (once, even when maintenance runs twice), still remembered.
	const later = Date.now() + DAY_MS;
	const report = await stub.maintain(later);
	await stub.maintain(later);
	expect(report.archivedThrough).toBe(new Date(later - ARCHIVE_CLOSE_MS).toISOString().slice(0, 13));
	expect((await archiveCounts()).get(row!.id)).toBe(1);
	const [[key]] = (await archivedIds()).filter(([, id]) => id === row!.id) as [[string, string]];
	expect(key).toMatch(/^events\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/ledger-\d{2}-000\.ndjson\.gz$/);
	expect(report.dropped).toEqual([]);
	expect(await (await postCallback([event])).json()).toMatchObject({ duplicates: 1 });

	// Past DEDUPE_DAYS (5): the day's table goes, and the same event is new again.
	const past = await stub.maintain(Date.now() + 6 * DAY_MS + HOUR_MS);
	expect(past.dropped.length).toBeGreaterThanOrEqual(1);
	expect(await partitionsOf(messageId)).toEqual([]);
	expect(await (await postCallback([event])).json()).toMatchObject({ stored: 1, duplicates: 0 });
	expect((await archiveCounts()).get(row!.id)).toBe(1);
});

it("never forgets a day while one of its rows still waits for a copy", async () => {
	const event = element("spec2026__message-delivered_sms.object.json");
	const messageId = event.message.id;
	const stub = ledgerStub(messageId);
	await withEventTablesBroken(async () => {
		const answer = await postCallback([event]);
		expect(answer.status).toBe(200);
		const [pending] = await (async () => {
			for (;;) {
				const rows = await pendingInLedger(messageId);
				if (rows.length > 0) return rows;
				await new Promise((resolve) => setTimeout(resolve, 20));
			}
		})();
		await waitForForwarded(pending!.id);
		const report = await stub.maintain(Date.now() + 20 * DAY_MS);
		expect(report.dropped).toEqual([]);
		expect(await partitionsOf(messageId)).not.toEqual([]);
	});
	// D1 is back: the ledger's alarm stores the row (on its backoff), and only then may the day go.
	await waitForEvents(messageId, 1, 10_000);
	expect(await pendingInLedger(messageId)).toEqual([]);
	const report = await stub.maintain(Date.now() + 20 * DAY_MS);
	expect(report.dropped.length).toBeGreaterThanOrEqual(1);
	expect(await eventsOf(messageId)).toHaveLength(1);
});
