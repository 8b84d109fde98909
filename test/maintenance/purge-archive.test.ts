import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { purgeArchive } from "../../src/maintenance/purge-archive";
import { archiveKeys, clearArchive, putArchiveObject } from "../helpers/archive-objects";

/** wrangler.toml's ARCHIVE_RETENTION_DAYS is 400: the cutoff is 2030-04-28T00:00:00Z, hour 00 of that day. */
const NOW = Date.parse("2031-06-02T00:30:00.000Z");

const EXPIRED = [
	"events/2029/12/31/23/ledger-a-000.ndjson.gz",
	"events/2030/04/27/22/ledger-a-000.ndjson.gz",
	"events/2030/04/27/23/ledger-a-000.ndjson.gz",
	"events/2030/04/27/23/ledger-b-000.ndjson.gz",
];
const KEPT = [
	// The hour the cutoff falls in holds events received after it.
	"events/2030/04/28/00/ledger-a-000.ndjson.gz",
	"events/2030/04/28/01/ledger-a-000.ndjson.gz",
	"events/2031/06/01/23/ledger-a-000.ndjson.gz",
];

beforeEach(async () => {
	await clearArchive();
	for (const key of [...KEPT, ...EXPIRED]) await putArchiveObject(key, [{ id: key }]);
});
afterEach(() => {
	vi.restoreAllMocks();
});

describe("archive retention", () => {
	it("deletes the objects of hours older than ARCHIVE_RETENTION_DAYS and nothing else", async () => {
		await putArchiveObject("exports/2020/01/01/report.ndjson.gz", [{}]);
		vi.spyOn(console, "log").mockImplementation(() => {});

		const result = await purgeArchive(env, NOW);

		expect(result).toEqual({
			ok: true,
			value: { before: "events/2030/04/28/00/", deleted: EXPIRED.length, complete: true },
		});
		expect(await archiveKeys()).toEqual([...KEPT, "exports/2020/01/01/report.ndjson.gz"]);
	});

	it("deletes a bounded number of objects per run and leaves the rest for the next", async () => {
		vi.spyOn(console, "log").mockImplementation(() => {});
		const first = await purgeArchive(env, NOW, { maxDeletes: 3 });
		expect(first).toEqual({ ok: true, value: { before: "events/2030/04/28/00/", deleted: 3, complete: false } });
		expect(await archiveKeys()).toEqual([EXPIRED[3], ...KEPT]);

		const second = await purgeArchive(env, NOW, { maxDeletes: 3 });
		expect(second).toEqual({ ok: true, value: { before: "events/2030/04/28/00/", deleted: 1, complete: true } });
		expect(await archiveKeys()).toEqual(KEPT);
	});

	it("deletes nothing while nothing is old enough", async () => {
		const result = await purgeArchive({ ...env, ARCHIVE_RETENTION_DAYS: "2000" }, NOW);
		expect(result).toMatchObject({ ok: true, value: { deleted: 0, complete: true } });
		expect(await archiveKeys()).toHaveLength(KEPT.length + EXPIRED.length);
	});

	it("does nothing without an archive bucket, or while ARCHIVE_RETENTION_DAYS is invalid", async () => {
		expect(await purgeArchive({ ...env, ARCHIVE: undefined }, NOW)).toEqual({
			ok: false,
			reason: "archive_not_configured",
		});
		vi.spyOn(console, "error").mockImplementation(() => {});
		expect(await purgeArchive({ ...env, ARCHIVE_RETENTION_DAYS: "forever" }, NOW)).toEqual({
			ok: false,
			reason: "config_invalid",
		});
		expect(await archiveKeys()).toHaveLength(KEPT.length + EXPIRED.length);
	});
});
