import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, expect, it } from "vitest";
import { archiveKey } from "../../src/archive/archive-layout";
import { hourOf } from "../../src/ledger/partitions";
import { adminFetch } from "../helpers/admin";
import { archiveCounts, archivedIds } from "../helpers/archive";
import { archiveKeys, clearArchive, putArchiveObject } from "../helpers/archive-objects";
import { aroundMethod, gate } from "../helpers/binding-faults";
import { postCallback } from "../helpers/callback";
import { element } from "../helpers/fixtures";
import { ledgerStub } from "../helpers/ledger";
import { waitForEvents } from "../helpers/storage";

/*
 * The archive under faults at R2's boundary (findings of the fault simulation, issue 17): a failed
 * write never loses an hour, a write that follows an interrupted one leaves no stale part, and an
 * erasure that lands while its hour is being written leaves nothing behind.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

beforeEach(clearArchive);

async function storedEvent(messageId?: string): Promise<{ messageId: string; id: string }> {
	const event = element("spec2026__message-delivered_sms.object.json", messageId ? { messageId } : {});
	expect((await postCallback([event])).status).toBe(200);
	const [row] = await waitForEvents(event.message.id, 1);
	return { messageId: event.message.id, id: row?.id ?? "" };
}

/** R2 puts of archive objects (the media bucket shares the class) go through `around`. */
function aroundArchivePuts(around: (put: () => unknown) => unknown): void {
	aroundMethod(env.ARCHIVE, "put", (call, args) => (String(args[0]).startsWith("events/") ? around(call) : call()));
}

it("writes an hour again after its R2 write failed, and reports the failure meanwhile", async () => {
	const { messageId, id } = await storedEvent();
	const stub = ledgerStub(messageId);
	const later = Date.now() + DAY_MS;
	let failures = 1;
	aroundArchivePuts((put) => {
		// As R2 answers an internal error: the write did not happen.
		if (failures-- > 0) throw new Error("R2 internal error");
		return put();
	});

	// Reported, not thrown: the run's other work (reclaiming, forgetting) goes on.
	const failed = await stub.maintain(later).catch((error: unknown) => ({ archiveError: `threw: ${error}` }));
	expect.soft(failed.archiveError).toBe("R2 internal error");
	expect((await archiveCounts()).get(id)).toBeUndefined();

	// The next run writes the hour it could not: nothing skipped, nothing lost.
	const next = await stub.maintain(later);
	expect.soft(next.archiveError).toBeNull();
	expect((await archiveCounts()).get(id)).toBe(1);
});

it("deletes the parts an interrupted write of the same hour left beyond the new last part", async () => {
	const { messageId, id } = await storedEvent();
	const stub = ledgerStub(messageId);
	const ledger = await runInDurableObject(stub, (_instance, state) => {
		const hour = new Date().toISOString().slice(0, 13);
		// The hour's write started (and died) before: its marker is still there, with a part 001.
		state.storage.sql.exec("CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
		state.storage.sql.exec("INSERT OR REPLACE INTO ledger_meta (key, value) VALUES ('archiving', ?)", hour);
		return state.id.name ?? "";
	});
	// A new instance, as after the crash: it reads its tables (and the marker) afresh.
	await evictDurableObject(stub);
	const hour = hourOf(Date.now());
	const stale = archiveKey(hour, ledger, 1);
	await putArchiveObject(stale, [{ id, type: "bandwidth.message.delivered" }]);

	await stub.maintain(Date.now() + DAY_MS);
	const keys = (await archiveKeys()).filter((key) => key.includes(`/${ledger}-`));
	expect(keys).toEqual([archiveKey(hour, ledger, 0)]);
	expect((await archiveCounts()).get(id)).toBe(1);
});

it("leaves no erased event in an hour that was being written while the message was erased", async () => {
	const erased = await storedEvent();
	const stub = ledgerStub(erased.messageId);
	const held = gate();
	let first = true;
	aroundArchivePuts(async (put) => {
		if (first) {
			first = false;
			// The hour's rows are read and compressed; the put waits here, as a slow R2 would.
			await held.wait();
		}
		return put();
	});

	// Two days on: an earlier test whose message shares this ledger bucket ran it a day ahead, which
	// files new rows under that day's open hour; a day on would then find no closed hour to write.
	const maintenance = stub.maintain(Date.now() + 2 * DAY_MS);
	await held.entered;
	const erasure = adminFetch(`/v1/messages/${erased.messageId}`, { method: "DELETE" });
	setTimeout(() => held.release(), 300);
	const [answer] = await Promise.all([erasure, maintenance]);
	expect(answer.status).toBe(200);
	expect(await answer.json()).toMatchObject({ complete: true });
	expect((await archivedIds()).filter(([, id]) => id === erased.id)).toEqual([]);
});
