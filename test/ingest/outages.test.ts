import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { prepareElement } from "../../src/ingest/prepare-element";
import { drainHandoffs } from "../../src/ledger/drain-handoffs";
import { ledgerNamed, ledgerNameOf } from "../../src/ledger/ledger-client";
import type { MessageLedger } from "../../src/ledger/message-ledger.do";
import { COPIED } from "../../src/ledger/store/ledger-rows";
import { postCallback } from "../helpers/callback";
import { receivedAt, waitForForwarded } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import {
	ledgerStub,
	otherBucketMessageId,
	pendingInLedger,
	swapForBrokenTables,
	waitForDrainBackoff,
	withLedgerBroken,
} from "../helpers/ledger";
import {
	deliveriesOf,
	eventsOf,
	quarantineRows,
	waitForEvents,
	withEventTablesBroken,
	withTableRenamed,
} from "../helpers/storage";
import { BACKGROUND_WAIT_MS } from "../helpers/wait";

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

async function expectForwardedOnce(eventId: string): Promise<void> {
	await waitForForwarded(eventId);
	await settle();
	expect((await receivedAt()).filter((request) => request.headers["webhook-id"] === eventId)).toHaveLength(1);
	// A first-try success is counted, not recorded one by one.
	expect(await deliveriesOf(eventId)).toEqual([]);
}

describe("D1 or the queue down while the outbox drains", () => {
	it("forwards while D1 refuses every write, stores the event once D1 is back, and never forwards it twice", async () => {
		const event = element("spec2026__message-delivered_sms.object.json");
		const id = event.message.id;
		let eventId = "";
		await withEventTablesBroken(async () => {
			const response = await postCallback([event]);
			expect(response.status).toBe(200);
			expect(await response.json()).toMatchObject({ stored: 1 });
			const [pending] = await vi.waitUntil(
				async () => {
					const rows = await pendingInLedger(id);
					return rows.length > 0 ? rows : undefined;
				},
				{ timeout: BACKGROUND_WAIT_MS, interval: 20 },
			);
			eventId = pending!.id;
			// Forwarded during the outage; only the D1 copy waits.
			await waitForForwarded(eventId);
			expect(pending).toMatchObject({ copied: COPIED.queue });
			await waitForDrainBackoff(id);
			// While its D1 copy backs off, the ledger hands new rows to the Worker for the queue alone.
			const next = element("spec2026__message-sending.object.json", { messageId: id, to: "+15550000001" });
			const entry = await prepareElement(next, new Date().toISOString());
			if (entry.kind !== "event") throw new Error("invalid fixture");
			const accepted = await ledgerStub(id).accept([entry.entry]);
			expect(accepted.handoff?.targets).toBe(COPIED.queue);
			await drainHandoffs(env, [accepted.handoff!]);
			await waitForForwarded(entry.entry.id);
		});

		// The ledger's alarm comes back on its backoff and stores both.
		await waitForEvents(id, 2, 15_000);
		expect(await pendingInLedger(id)).toEqual([]);
		await settle();
		await expectForwardedOnce(eventId);
		expect(await eventsOf(id)).toHaveLength(2);
	}, 30_000);

	it("stores nothing when the queue send fails, then makes both copies once the queue is back", async () => {
		const event = element("spec2026__message-delivered_sms.object.json");
		const prepared = await prepareElement(event, new Date().toISOString());
		if (prepared.kind !== "event") throw new Error("invalid fixture");
		const stub = ledgerStub(event.message.id);
		const { handoff } = await stub.accept([prepared.entry]);
		// Cloudflare Queues cannot be made to fail on demand locally; the real binding is wrapped so
		// that the Worker's send throws, as a Queues outage would.
		const failingQueue = {
			sendBatch: () => Promise.reject(new Error("Queue send failed: service unavailable")),
		} as unknown as Queue;
		await drainHandoffs({ ...env, FORWARD_QUEUE: failingQueue }, [handoff!]);
		// D1 holds only what went to the queue (a row there is what tells the ledger it was sent): the
		// Worker reported both copies missing, and the outbox keeps the row for both.
		expect(await eventsOf(event.message.id)).toEqual([]);
		expect(await pendingInLedger(event.message.id)).toEqual([expect.objectContaining({ copied: 0 })]);

		expect(await runDurableObjectAlarm(stub)).toBe(true);
		expect(await pendingInLedger(event.message.id)).toEqual([]);
		expect(await eventsOf(event.message.id)).toHaveLength(1);
		await expectForwardedOnce(prepared.entry.id);
	});
});

describe("the ledger or quarantine write failing", () => {
	it("answers 500, and Bandwidth's retry after recovery accepts each event once", async () => {
		const broken = element("spec2026__message-delivered_sms.object.json");
		// In another ledger bucket: the broken one fails every message it keeps (1 in 64 by chance).
		const healthy = element("spec2026__message-sending.object.json", {
			messageId: otherBucketMessageId(broken.message.id),
		});
		const batch = [broken, healthy];

		await withLedgerBroken(broken.message.id, async () => {
			const response = await postCallback(batch);
			expect(response.status).toBe(500);
			expect(await response.json()).toMatchObject({ error: { code: "storage_unavailable" } });
		});

		const retry = await postCallback(batch);
		expect(retry.status).toBe(200);
		expect(await retry.json()).toEqual({ received: 2, stored: 1, duplicates: 1, quarantined: 0 });
		const again = await postCallback(batch);
		expect(await again.json()).toEqual({ received: 2, stored: 0, duplicates: 2, quarantined: 0 });
		expect(await waitForEvents(broken.message.id, 2)).toHaveLength(2);
		expect(await waitForEvents(healthy.message.id, 1)).toHaveLength(1);
	});

	it("answers 200 while D1 refuses a quarantine row: a ledger holds it until D1 takes it", async () => {
		const bad = { ...element("spec2026__message-failed_4432.object.json"), errorCode: 4.5 };
		await withTableRenamed("quarantine", async () => {
			const response = await postCallback([bad]);
			expect(response.status).toBe(200);
			expect(await response.json()).toMatchObject({ stored: 0, quarantined: 1 });
		});
		// The ledger's alarm comes back on its backoff (1 s) and writes it, once.
		await vi.waitUntil(async () => (await quarantineRows()).some((row) => row.raw_json === JSON.stringify(bad)), {
			timeout: BACKGROUND_WAIT_MS,
			interval: 50,
		});
		const retry = await postCallback([bad]);
		expect(await retry.json()).toMatchObject({ quarantined: 1 });
		expect((await quarantineRows()).filter((row) => row.raw_json === JSON.stringify(bad))).toHaveLength(1);
	}, 20_000);

	it("answers 500 only when neither D1 nor the ledger can keep the quarantine row", async () => {
		const bad = { ...element("spec2026__message-failed_4432.object.json"), errorCode: 4.25 };
		const prepared = await prepareElement(bad, new Date().toISOString());
		if (prepared.kind !== "invalid") throw new Error("the fixture should be invalid");
		// A held element lives in its message's ledger (so that erasing the message finds it there).
		const stub = ledgerNamed(env, ledgerNameOf(env, bad.message.id));
		const placeholder = { ...prepared.row, id: "qtn_placeholder" };
		// The ledger's holding table exists once it held something; then it is broken.
		await stub.holdQuarantine([placeholder]);
		await runInDurableObject(stub, (_instance: MessageLedger, state) => {
			state.storage.sql.exec("DELETE FROM quarantine_outbox");
		});
		const restore = await swapForBrokenTables(stub, ["quarantine_outbox"]);
		try {
			await withTableRenamed("quarantine", async () => {
				const response = await postCallback([bad]);
				expect(response.status).toBe(500);
				expect(await response.json()).toMatchObject({ error: { code: "storage_unavailable" } });
			});
		} finally {
			await restore();
		}
		const retry = await postCallback([bad]);
		expect(await retry.json()).toMatchObject({ quarantined: 1 });
		expect((await quarantineRows()).filter((row) => row.raw_json === JSON.stringify(bad))).toHaveLength(1);
	});
});
