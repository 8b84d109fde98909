import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import worker from "../../src/index";
import { allLedgerNames } from "../../src/ledger/ledger-client";
import { type MeterCounts, meter } from "../../src/meter/meter";

/*
 * The per-minute cron is billed whatever the traffic: one Worker invocation, one Durable Object
 * request per ledger bucket (maintain), and the D1 and R2 calls of retention, the byte budget and
 * the archive purge. Each must reach the meter.
 */
it("counts the cron's invocation and each ledger bucket's maintain call", async () => {
	const before = meter.snapshot();
	await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env);
	const after = meter.snapshot();
	const spent = (unit: keyof MeterCounts) => after[unit] - before[unit];
	expect(spent("workerRequests")).toBe(1);
	expect(spent("doRequests")).toBe(allLedgerNames(env).length);
	// Retention and the budget ask D1 every minute (rows read, size); the archive purge lists R2.
	expect(spent("d1RowsRead") + spent("r2ClassA")).toBeGreaterThan(0);
	expect(spent("eventsAccepted")).toBe(0);
});
