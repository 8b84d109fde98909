import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { MessageLedger } from "../../src/ledger/message-ledger.do";
import { postCallback } from "../helpers/callback";
import { element } from "../helpers/fixtures";
import { ledgerStub, pendingInLedger, waitForDrainBackoff, withLedgerBroken } from "../helpers/ledger";
import {
	deliveriesOf,
	eventsOf,
	quarantineRows,
	waitForDeliveries,
	waitForEvents,
	withTableRenamed,
} from "../helpers/storage";

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

async function expectForwardedOnce(eventId: string): Promise<void> {
	await waitForDeliveries(eventId, 1);
	await settle();
	expect((await deliveriesOf(eventId)).map((row) => row.outcome)).toEqual(["delivered"]);
}

describe("D1 or the queue down while the outbox drains", () => {
	it("still answers 200, keeps the event in the outbox, and drains it once D1 is back", async () => {
		const event = element("spec2026__message-delivered_sms.object.json");
		const id = event.message.id;
		await withTableRenamed("events", async () => {
			const response = await postCallback([event]);
			expect(response.status).toBe(200);
			expect(await response.json()).toMatchObject({ stored: 1 });
			await waitForDrainBackoff(id);
			expect(await pendingInLedger(id)).toEqual([expect.objectContaining({ sequence: 1, has_body: 1 })]);
		});

		expect(await runDurableObjectAlarm(ledgerStub(id))).toBe(true);
		const [row] = await waitForEvents(id, 1);
		expect(await pendingInLedger(id)).toEqual([]);
		await expectForwardedOnce(row!.id);
		expect(await eventsOf(id)).toHaveLength(1);
	});

	it("keeps the event when the queue send fails, and queues it once after recovery", async () => {
		const event = element("spec2026__message-delivered_sms.object.json");
		const id = event.message.id;
		// Cloudflare Queues cannot be made to fail on demand locally; the real binding is wrapped so
		// that its next send throws, as a Queues outage would.
		await runInDurableObject(ledgerStub(id), (instance: MessageLedger) => {
			const queue = (instance as unknown as { env: Env }).env.FORWARD_QUEUE;
			vi.spyOn(queue, "sendBatch").mockRejectedValueOnce(new Error("Queue send failed: service unavailable"));
		});

		const response = await postCallback([event]);
		expect(response.status).toBe(200);
		await waitForDrainBackoff(id);
		// D1 already has the row; the outbox still holds it because the send failed.
		expect(await eventsOf(id)).toHaveLength(1);
		expect(await pendingInLedger(id)).toHaveLength(1);

		expect(await runDurableObjectAlarm(ledgerStub(id))).toBe(true);
		expect(await pendingInLedger(id)).toEqual([]);
		const [row] = await eventsOf(id);
		await expectForwardedOnce(row!.id);
	});
});

describe("the ledger or quarantine write failing", () => {
	it("answers 500, and Bandwidth's retry after recovery accepts each event once", async () => {
		const broken = element("spec2026__message-delivered_sms.object.json");
		const healthy = element("spec2026__message-sending.object.json");
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

	it("answers 500 when the quarantine cannot be written, and stores it on the retry", async () => {
		const bad = { ...element("spec2026__message-failed_4432.object.json"), errorCode: 4.5 };
		await withTableRenamed("quarantine", async () => {
			const response = await postCallback([bad]);
			expect(response.status).toBe(500);
			expect(await response.json()).toMatchObject({ error: { code: "storage_unavailable" } });
		});
		const retry = await postCallback([bad]);
		expect(await retry.json()).toMatchObject({ quarantined: 1 });
		expect((await quarantineRows()).filter((row) => row.raw_json === JSON.stringify(bad))).toHaveLength(1);
	});
});
