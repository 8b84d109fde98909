import { createMessageBatch } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { INVOCATION_LOGS, type MeterCounts, type MeterUnit, meter } from "../../src/meter/meter";
import { trackedBatch } from "../../src/meter/metered-batch";
import { meteredD1 } from "../../src/meter/metered-d1";
import { meteredEnv } from "../../src/meter/metered-env";
import { queueOpsOf } from "../../src/meter/metered-queue";
import { meteredR2 } from "../../src/meter/metered-r2";
import wranglerToml from "../../wrangler.toml?raw";

/** What `body` added to the meter, unit by unit (only the units that moved). */
async function spentBy(body: () => Promise<unknown>): Promise<Partial<MeterCounts>> {
	const before = meter.snapshot();
	await body();
	const after = meter.snapshot();
	return Object.fromEntries(
		(Object.keys(after) as MeterUnit[])
			.filter((unit) => after[unit] !== before[unit])
			.map((unit) => [unit, after[unit] - before[unit]]),
	);
}

describe("D1", () => {
	const db = meteredD1(env.DB, "DB");
	beforeAll(async () => {
		await env.DB.exec("CREATE TABLE IF NOT EXISTS meter_probe (k TEXT PRIMARY KEY, v TEXT)");
	});

	it("adds the rows D1 reports for run, all and batch", async () => {
		let reported = 0;
		const spent = await spentBy(async () => {
			const one = await db.prepare("INSERT INTO meter_probe (k, v) VALUES (?1, 'a')").bind("d1-1").run();
			const two = await db.batch([
				db.prepare("INSERT INTO meter_probe (k, v) VALUES (?1, 'b')").bind("d1-2"),
				env.DB.prepare("INSERT INTO meter_probe (k, v) VALUES (?1, 'c')").bind("d1-3"),
			]);
			reported = [one, ...two].reduce((sum, result) => sum + result.meta.rows_written, 0);
		});
		expect(reported).toBe(6);
		expect(spent.d1RowsWritten).toBe(reported);
		// The statement, then the batch: two transactions on the database's single writer.
		expect(spent.d1Writes).toBe(2);
	});

	it("answers first() and raw() as D1 does, and counts the rows they read", async () => {
		const query = "SELECT k, v FROM meter_probe WHERE k LIKE 'd1-%' ORDER BY k";
		const { meta } = await env.DB.prepare(query).all();
		const spent = await spentBy(async () => {
			expect(await db.prepare(query).first()).toEqual(await env.DB.prepare(query).first());
			expect(await db.prepare(query).first("v")).toEqual(await env.DB.prepare(query).first("v"));
			expect(await db.prepare(query).raw()).toEqual(await env.DB.prepare(query).raw());
			expect(await db.prepare(query).raw({ columnNames: true })).toEqual(
				await env.DB.prepare(query).raw({ columnNames: true }),
			);
			const empty = "SELECT k FROM meter_probe WHERE k = 'none'";
			expect(await db.prepare(empty).first()).toBeNull();
			expect(await db.prepare(empty).raw({ columnNames: true })).toEqual([[]]);
		});
		expect(meta.rows_read).toBeGreaterThan(0);
		expect(spent.d1RowsRead).toBe(4 * meta.rows_read);
	});

	it("refuses first(column) for a column the row lacks, as D1 does", async () => {
		const query = "SELECT k FROM meter_probe LIMIT 1";
		await expect(env.DB.prepare(query).first("nope")).rejects.toThrow("D1_COLUMN_NOTFOUND");
		await expect(db.prepare(query).first("nope")).rejects.toThrow("D1_COLUMN_NOTFOUND");
	});
});

describe("Queues", () => {
	it("bills one operation per 64,000 bytes, message metadata included", () => {
		expect(queueOpsOf({ eventId: "evt_x" })).toBe(1);
		expect(queueOpsOf("x".repeat(64_000 - 100 - 2))).toBe(1);
		expect(queueOpsOf("x".repeat(64_000 - 100 - 1))).toBe(2);
		expect(queueOpsOf("x".repeat(64_000 - 100), "text")).toBe(1);
		expect(queueOpsOf(new Uint8Array(130_000), "bytes")).toBe(3);
	});

	function batchOf(count: number, queue = "meter-probe", attempts = 1) {
		return createMessageBatch(
			queue,
			Array.from({ length: count }, (_, i) => ({
				id: `m${i}`,
				timestamp: new Date(),
				attempts,
				body: { eventId: `evt_${i}` },
			})),
		);
	}

	it("reads every message delivered and deletes only what ends acknowledged", async () => {
		const spent = await spentBy(async () => {
			const tracked = trackedBatch(batchOf(3));
			const [first, second] = tracked.batch.messages;
			first?.ack();
			second?.retry();
			tracked.settle(true); // the third: acknowledged by the handler's return
		});
		expect(spent.queueOps).toBe(3 + 2);
	});

	it("deletes nothing left undecided when the handler throws", async () => {
		const spent = await spentBy(async () => {
			const tracked = trackedBatch(batchOf(2));
			tracked.batch.messages[0]?.ack();
			tracked.settle(false);
		});
		expect(spent.queueOps).toBe(2 + 1);
	});

	it("counts the write that moved a message to a dead-letter queue, once, on its first delivery from it", async () => {
		const first = await spentBy(async () => trackedBatch(batchOf(2, "bandwidth-relay-forward-dlq")).settle(true));
		expect(first.queueOps).toBe(2 * (1 + 1 + 1)); // the dead-letter write, the read, the delete
		const again = await spentBy(async () => trackedBatch(batchOf(2, "bandwidth-relay-forward-dlq", 2)).settle(true));
		expect(again.queueOps).toBe(2 * (1 + 1));
	});

	it("counts each message sent, apart from its operations", async () => {
		const queue = meteredEnv(env).FORWARD_QUEUE;
		const spent = await spentBy(async () => {
			await queue.send({ eventId: "evt_meter_send" });
			await queue.sendBatch([{ body: { eventId: "evt_meter_a" } }, { body: "x".repeat(70_000), contentType: "text" }]);
		});
		expect(spent).toMatchObject({ queueMessages: 3, queueOps: 1 + 1 + 2 });
	});

	it("lets a message's own decision win over the batch's", async () => {
		const spent = await spentBy(async () => {
			const tracked = trackedBatch(batchOf(2));
			tracked.batch.messages[1]?.retry();
			tracked.batch.ackAll();
			tracked.settle(true);
		});
		expect(spent.queueOps).toBe(2 + 1);
	});
});

describe("R2", () => {
	const bucket = meteredR2(env.ARCHIVE);

	it("counts Class A for writes and lists, Class B for reads, nothing for deletes", async () => {
		const spent = await spentBy(async () => {
			await bucket.put("meter/one", "12345");
			await (await bucket.get("meter/one"))?.text();
			await bucket.head("meter/one");
			await bucket.list({ prefix: "meter/" });
			await bucket.delete("meter/one");
		});
		expect(spent).toEqual({ r2ClassA: 2, r2ClassB: 2, r2BytesWritten: 5 });
	});

	it("counts each multipart step but the abort", async () => {
		const spent = await spentBy(async () => {
			const upload = await bucket.createMultipartUpload("meter/parts");
			const part = await upload.uploadPart(1, "abc");
			await bucket.resumeMultipartUpload("meter/parts", upload.uploadId).complete([part]);
			await (await bucket.createMultipartUpload("meter/aborted")).abort();
		});
		expect(spent).toEqual({ r2ClassA: 4, r2BytesWritten: 3 });
	});
});

describe("Analytics Engine", () => {
	it("counts one data point per writeDataPoint, whatever the point holds, and none that throws", async () => {
		const dataset = meteredEnv(env).METRICS;
		const spent = await spentBy(async () => {
			dataset.writeDataPoint({ indexes: ["a"], blobs: ["x"], doubles: [1, 2, 3] });
			dataset.writeDataPoint();
		});
		expect(spent).toEqual({ aeDataPoints: 2 });
		const throwing = meteredEnv({
			METRICS: {
				writeDataPoint() {
					throw new Error("refused");
				},
			},
		}).METRICS;
		const refused = await spentBy(async () => expect(() => throwing.writeDataPoint()).toThrow("refused"));
		expect(refused).toEqual({});
	});
});

describe("meteredEnv", () => {
	it("meters D1, Queues, R2 and Analytics Engine, passes everything else, and never meters twice", () => {
		const metered = meteredEnv(env);
		expect(metered.DB).not.toBe(env.DB);
		expect(metered.FORWARD_QUEUE).not.toBe(env.FORWARD_QUEUE);
		expect(metered.ARCHIVE).not.toBe(env.ARCHIVE);
		expect(metered.METRICS).not.toBe(env.METRICS);
		expect(metered.MESSAGE_LEDGER).toBe(env.MESSAGE_LEDGER);
		expect(metered.RETENTION_DAYS).toBe(env.RETENTION_DAYS);
		expect(meteredEnv(env)).toBe(metered);
		expect(meteredEnv(metered)).toBe(metered);
	});
});

describe("meter", () => {
	it("counts invocation logs exactly when wrangler.toml turns them on", async () => {
		const spent = await spentBy(async () => {
			meter.add("workerRequests");
			meter.add("doRequests", 2);
		});
		expect(spent).toEqual({ workerRequests: 1, doRequests: 2, ...(INVOCATION_LOGS ? { logLines: 3 } : {}) });
		const logs = /\[observability\.logs\][^[]*?invocation_logs\s*=\s*(true|false)/.exec(wranglerToml);
		expect(logs?.[1]).toBe(String(INVOCATION_LOGS));
	});
});
