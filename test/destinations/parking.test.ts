import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import type { DestinationGate } from "../../src/destinations/destination-gate.do";
import { PARKED_MAX_JOBS, PAUSE_HOLD_FIRST_MS } from "../../src/destinations/gate-policy";
import {
	acceptRouted,
	destinationsAt,
	freshName,
	gateOf,
	gateQueue,
	jobsOf,
	parkedRows,
	recordingQueue,
} from "../helpers/destinations";
import { receivedAt } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { consume } from "../helpers/forward";
import { deliveriesOf } from "../helpers/storage";

it("parks one row per consumer batch, and sends a removed destination's parked events back to be recorded dead", async () => {
	const name = freshName("removed");
	const { DESTINATIONS, paths } = destinationsAt([{ name }]);
	const vars = { DESTINATIONS, FORWARD_URL: "" } as Record<string, string>;
	const released = await gateQueue(name, vars);
	await gateOf(name).setPaused(true);
	const rows = await acceptRouted(
		DESTINATIONS,
		Array.from({ length: 5 }, () => element("spec2026__message-delivered_sms.object.json")),
	);
	const jobs = jobsOf(rows).map((body) => ({ body }));
	await consume(jobs.slice(0, 3), vars);
	await consume(jobs.slice(3), vars);
	// Two batches, two rows: what a pause costs does not grow with its events.
	expect(await parkedRows(name)).toEqual({ rows: 2, jobs: 5 });
	expect((await gateOf(name).status()).backlog).toBe(5);

	// The destination is removed from DESTINATIONS while paused: nobody can resume it any more. The
	// gate's next look sends its events back, and the consumer records them dead, replayable.
	await released.restore();
	const afterRemoval = await gateQueue(name, { DESTINATIONS: "[]", FORWARD_URL: "" });
	expect(await runDurableObjectAlarm(gateOf(name))).toBe(true);
	expect(afterRemoval.sent.map(({ body }) => body.eventId).sort()).toEqual(rows.map((row) => row.id).sort());
	expect(await parkedRows(name)).toEqual({ rows: 0, jobs: 0 });
	await consume(
		afterRemoval.sent.map(({ body }) => ({ body })),
		{ DESTINATIONS: "[]", FORWARD_URL: "" } as Record<string, string>,
	);
	for (const row of rows) {
		expect(await deliveriesOf(row.id)).toEqual([
			expect.objectContaining({
				outcome: "dead",
				error: expect.stringContaining(`destination "${name}" is not configured`),
			}),
		]);
	}
	expect(await receivedAt(paths[name])).toEqual([]);
	await afterRemoval.restore();
});

it("puts held jobs back on the queue with a delay when its gate is full, as before parking: nothing is lost", async () => {
	const name = freshName("full");
	const { DESTINATIONS } = destinationsAt([{ name }]);
	const vars = { DESTINATIONS, FORWARD_URL: "" } as Record<string, string>;
	await gateOf(name).setPaused(true);
	await runInDurableObject(gateOf(name), (_instance: DestinationGate, state) => {
		state.storage.sql.exec("UPDATE gate SET state = json_set(state, '$.parkedJobs', ?) WHERE k = 1", PARKED_MAX_JOBS);
	});
	const rows = await acceptRouted(DESTINATIONS, [element("spec2026__message-delivered_sms.object.json")]);
	const { queue, sent } = recordingQueue();
	const run = await consume(
		jobsOf(rows).map((body) => ({ body })),
		{ ...vars, FORWARD_QUEUE: queue } as unknown as Record<string, string>,
	);
	expect(run.retries).toEqual([]);
	expect(run.result.explicitAcks).toHaveLength(1);
	expect(sent).toEqual([
		{
			body: expect.objectContaining({ eventId: rows[0]?.id, priorAttempts: 0, holds: 1 }),
			delaySeconds: expect.any(Number),
		},
	]);
	expect(sent[0]?.delaySeconds).toBeGreaterThanOrEqual(PAUSE_HOLD_FIRST_MS / 1000);
	expect(await parkedRows(name)).toEqual({ rows: 0, jobs: 0 });
});
