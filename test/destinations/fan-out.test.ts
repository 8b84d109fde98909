import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { expect, it } from "vitest";
import { replayEvents } from "../../src/forward/replay";
import { acceptRouted, destinationsAt, freshName, jobsOf, recordingQueue, SECRET_A } from "../helpers/destinations";
import { receivedAt, scriptResponses } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { consume } from "../helpers/forward";
import { deliveriesOf } from "../helpers/storage";
import { TEST_ENV } from "../setup/test-env";

const APP_B = "b0b0b0b0-0000-4000-8000-000000000000";

it("fans out to 3 destinations with overlapping filters: each event once per matching destination, signed with its secret", async () => {
	const [all, inbound, appB] = [freshName("all"), freshName("inbound"), freshName("app-b")];
	const { DESTINATIONS, paths } = destinationsAt([
		{ name: all },
		{ name: inbound, directions: ["inbound"] },
		{ name: appB, applicationIds: [APP_B] },
	]);
	const received = element("spec2026__message-received_sms.object.json");
	const receivedB = element("spec2026__message-received_sms.object.json", { message: { applicationId: APP_B } });
	const deliveredB = element("spec2026__message-delivered_sms.object.json", { message: { applicationId: APP_B } });
	const rows = await acceptRouted(DESTINATIONS, [received, receivedB, deliveredB]);
	const routes = Object.fromEntries(rows.map((row) => [row.message_id, row.destinations]));
	// Decided at accept and stored with the event.
	expect(routes).toEqual({
		[received.message.id]: [all, inbound],
		[receivedB.message.id]: [all, inbound, appB],
		[deliveredB.message.id]: [all, appB],
	});
	const jobs = jobsOf(rows);
	expect(jobs).toHaveLength(7);

	const secretVar = `DESTINATION_${all.toUpperCase().replaceAll("-", "_")}_SIGNING_SECRET`;
	const { result, retries } = await consume(
		jobs.map((body) => ({ body })),
		{ DESTINATIONS, FORWARD_URL: "", [secretVar]: SECRET_A } as Record<string, string>,
	);
	expect(retries).toEqual([]);
	expect(result.explicitAcks).toHaveLength(7);

	const idOf = Object.fromEntries(rows.map((row) => [row.message_id, row.id]));
	const seen = async (name: string) => (await receivedAt(paths[name])).map((r) => r.headers["webhook-id"]).sort();
	expect(await seen(all)).toEqual(
		[idOf[received.message.id], idOf[receivedB.message.id], idOf[deliveredB.message.id]].sort(),
	);
	expect(await seen(inbound)).toEqual([idOf[received.message.id], idOf[receivedB.message.id]].sort());
	expect(await seen(appB)).toEqual([idOf[receivedB.message.id], idOf[deliveredB.message.id]].sort());

	// Its own secret for `all`; FORWARD_SIGNING_SECRET for the others, which have none.
	for (const request of await receivedAt(paths[all])) {
		expect(() => new Webhook(SECRET_A).verify(request.body, request.headers)).not.toThrow();
	}
	const forwardSecret = TEST_ENV.FORWARD_SIGNING_SECRET.split(" ")[0] as string;
	for (const request of await receivedAt(paths[inbound])) {
		expect(() => new Webhook(forwardSecret).verify(request.body, request.headers)).not.toThrow();
		expect(() => new Webhook(SECRET_A).verify(request.body, request.headers)).toThrow();
	}
});

it("records each (event, destination) apart: a failure at one is its own delivery, retried on its own", async () => {
	const [good, bad] = [freshName("good"), freshName("bad")];
	const { DESTINATIONS, paths } = destinationsAt([{ name: good }, { name: bad }]);
	const [row] = await acceptRouted(DESTINATIONS, [element("spec2026__message-delivered_sms.object.json")]);
	if (row === undefined) throw new Error("no row");
	await scriptResponses(paths[bad] as string, [{ status: 503 }]);
	const { retries, result } = await consume(
		jobsOf([row]).map((body) => ({ body })),
		{ DESTINATIONS, FORWARD_URL: "" } as Record<string, string>,
	);
	expect(result.explicitAcks).toHaveLength(1);
	expect(retries).toHaveLength(1);
	expect(await receivedAt(paths[good])).toHaveLength(1);
	const rows = await deliveriesOf(row.id);
	expect(rows).toEqual([
		expect.objectContaining({ destination: bad, outcome: "failed", http_status: 503, attempt: 1 }),
	]);
});

it("records a job for a destination no longer configured as dead, replayable once it is back, not as a silent skip", async () => {
	const [kept, gone] = [freshName("kept"), freshName("gone")];
	const both = destinationsAt([{ name: kept }, { name: gone }]);
	const [row] = await acceptRouted(both.DESTINATIONS, [element("spec2026__message-delivered_sms.object.json")]);
	if (row === undefined) throw new Error("no row");
	// The configuration loses `gone` (a rename, a typo) while its job waits in the queue.
	const without = JSON.stringify(JSON.parse(both.DESTINATIONS).filter((d: { name: string }) => d.name !== gone));
	const { result, retries } = await consume(
		jobsOf([row]).map((body) => ({ body })),
		{ DESTINATIONS: without, FORWARD_URL: "" } as Record<string, string>,
	);
	expect(retries).toEqual([]);
	expect(result.explicitAcks).toHaveLength(2);
	expect(await deliveriesOf(row.id)).toEqual([
		expect.objectContaining({
			destination: gone,
			outcome: "dead",
			error: expect.stringContaining("is not configured"),
		}),
	]);

	// Configured again: the dead delivery replays to it, and only to it.
	const replay = recordingQueue();
	expect(await replayEvents({ DB: env.DB, FORWARD_QUEUE: replay.queue }, { dead: true, destination: gone })).toEqual({
		enqueued: 1,
		truncated: false,
	});
	const again = await consume(
		replay.sent.map(({ body }) => ({ body })),
		{ DESTINATIONS: both.DESTINATIONS, FORWARD_URL: "" } as Record<string, string>,
	);
	expect(again.retries).toEqual([]);
	expect((await receivedAt(both.paths[gone] as string)).map((request) => request.headers["webhook-id"])).toEqual([
		row.id,
	]);
	expect(await receivedAt(both.paths[kept] as string)).toHaveLength(1);
});
