import { env } from "cloudflare:workers";
import { expect, it, vi } from "vitest";
import { deadEventIds } from "../../src/db/replay-claims.repository";
import { PARKED_CLAIM_MS } from "../../src/forward/park-held";
import { replayEvents } from "../../src/forward/replay";
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
import { scriptResponses } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { consume } from "../helpers/forward";
import { waitForEvents } from "../helpers/storage";
import { BACKGROUND_WAIT_MS } from "../helpers/wait";

it("keeps each destination's dead delivery apart: a dead replay can target one, a replay by id goes to every routed one", async () => {
	const [a, b] = [freshName("a"), freshName("b")];
	const { DESTINATIONS, paths } = destinationsAt([{ name: a }, { name: b }]);
	const [row] = await acceptRouted(DESTINATIONS, [element("spec2026__message-delivered_sms.object.json")]);
	if (row === undefined) throw new Error("no row");
	await waitForEvents(row.message_id, 1);
	await scriptResponses(paths[a] as string, [{ status: 410 }]);
	await scriptResponses(paths[b] as string, [{ status: 410 }]);
	await consume(
		jobsOf([row]).map((body) => ({ body })),
		{ DESTINATIONS, FORWARD_URL: "" } as Record<string, string>,
	);
	const now = new Date();
	expect(await deadEventIds(env.DB, now, 10, a)).toEqual([row.id]);
	expect(await deadEventIds(env.DB, now, 10, b)).toEqual([row.id]);

	const toA = recordingQueue();
	const replayed = await replayEvents({ DB: env.DB, FORWARD_QUEUE: toA.queue }, { dead: true, destination: a });
	expect(replayed).toEqual({ enqueued: 1, truncated: false });
	expect(toA.sent.map(({ body }) => [body.eventId, body.destination, body.replay])).toEqual([[row.id, a, true]]);
	// Claimed for a; still dead for b.
	expect(await deadEventIds(env.DB, new Date(), 10, a)).toEqual([]);
	expect(await deadEventIds(env.DB, new Date(), 10, b)).toEqual([row.id]);

	const byId = recordingQueue();
	await replayEvents({ DB: env.DB, FORWARD_QUEUE: byId.queue }, { eventIds: [row.id] });
	expect(byId.sent.map(({ body }) => body.destination).sort()).toEqual([a, b].sort());
	const onlyB = recordingQueue();
	await replayEvents({ DB: env.DB, FORWARD_QUEUE: onlyB.queue }, { messageId: row.message_id, destination: b });
	expect(onlyB.sent.map(({ body }) => body.destination)).toEqual([b]);
});

it("keeps a replay's claim while a gate holds its job, so a second dead replay cannot send it again", async () => {
	const name = freshName("held");
	const { DESTINATIONS, paths } = destinationsAt([{ name }]);
	const [row] = await acceptRouted(DESTINATIONS, [element("spec2026__message-delivered_sms.object.json")]);
	if (row === undefined) throw new Error("no row");
	await waitForEvents(row.message_id, 1);
	await scriptResponses(paths[name] as string, [{ status: 410 }]);
	const vars = { DESTINATIONS, FORWARD_URL: "" } as Record<string, string>;
	await consume(
		jobsOf([row]).map((body) => ({ body })),
		vars,
	);
	const first = recordingQueue();
	expect(await replayEvents({ DB: env.DB, FORWARD_QUEUE: first.queue }, { dead: true, destination: name })).toEqual({
		enqueued: 1,
		truncated: false,
	});
	const [replayed] = first.sent;
	expect(replayed?.body.claimId).toEqual(expect.any(Number));

	// Paused: the replayed job is parked in its gate, and its claim kept for as long as a pause may last.
	const released = await gateQueue(name, vars);
	await gateOf(name).setPaused(true);
	const held = recordingQueue();
	await consume([{ body: replayed?.body }], { ...vars, FORWARD_QUEUE: held.queue } as unknown as Record<
		string,
		string
	>);
	expect(held.sent).toEqual([]);
	expect(await parkedRows(name)).toEqual({ rows: 1, jobs: 1 });
	const claim = await env.DB.prepare("SELECT at, next_at FROM deliveries WHERE id = ?1")
		.bind(replayed?.body.claimId)
		.first<{ at: string; next_at: string }>();
	expect(Date.parse(claim?.next_at ?? "")).toBeGreaterThan(Date.now() + PARKED_CLAIM_MS - 60_000);
	// The claim's own time stays when it was made, so the message's attempts still read in order.
	expect(Date.parse(claim?.at ?? "")).toBeLessThanOrEqual(Date.now());
	// A day on, long past a claim's 10-minute expiry counted from the replay, it is still claimed.
	const later = new Date(Date.now() + 24 * 60 * 60_000);
	expect(await deadEventIds(env.DB, later, 10, name)).toEqual([]);
	await gateOf(name).setPaused(false);
	await vi.waitUntil(() => released.sent.length === 1, { timeout: BACKGROUND_WAIT_MS, interval: 20 });
	expect(released.sent[0]?.body).toMatchObject({ eventId: row.id, claimId: replayed?.body.claimId, replay: true });
	await released.restore();
});
