import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { AlertDesk } from "../../src/alerts/alert-desk.do";
import type { AlertEvent } from "../../src/alerts/alert-message";
import { alertText } from "../../src/alerts/alert-message";
import { ALERT_DESK_NAME, raiseAlert } from "../../src/alerts/raise-alert";
import { maintainLedgers } from "../../src/maintenance/maintain-ledgers";
import { alertStalledOutboxes, OUTBOX_STALLED_MS } from "../../src/maintenance/run-maintenance";
import { postCallback } from "../helpers/callback";
import { freshPath, hookUrl, receivedAt, scriptResponses } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { consume, jobFor, storedEvents } from "../helpers/forward";
import { pendingInLedger } from "../helpers/ledger";
import { withEventTablesBroken } from "../helpers/storage";
import { BACKGROUND_WAIT_MS } from "../helpers/wait";
import { TEST_ENV } from "../setup/test-env";

/* ALERT_URL is the test downstream's /alerts (vitest.config.ts). */
const ALERT_PATH = "/alerts";
const MINUTE_MS = 60_000;

const desk = () => env.ALERT_DESK.get(env.ALERT_DESK.idFromName(ALERT_DESK_NAME));

async function alertsOf(
	type: string,
): Promise<Array<{ event: AlertEvent; headers: Record<string, string>; body: string }>> {
	return (await receivedAt(ALERT_PATH))
		.map((request) => ({ event: JSON.parse(request.body) as AlertEvent, headers: request.headers, body: request.body }))
		.filter(({ event }) => event.type === type);
}

async function pendingCount(): Promise<number> {
	return runInDurableObject(desk(), (_instance: AlertDesk, state) =>
		Number(state.storage.sql.exec<{ n: number }>("SELECT coalesce(sum(count), 0) AS n FROM pending").one().n),
	);
}

/** Events that die on their first attempt: the downstream answers 410 (permanent) to each. */
async function deadEvents(count: number): Promise<string[]> {
	const events = await storedEvents(count);
	const path = freshPath();
	await scriptResponses(
		path,
		events.map(() => ({ status: 410 })),
	);
	await consume(
		events.map((event) => ({ body: jobFor(event) })),
		{ FORWARD_URL: hookUrl(path) },
	);
	return events.map((event) => event.id);
}

beforeEach(async () => {
	await runInDurableObject(desk(), (_instance: AlertDesk, state) => {
		state.storage.sql.exec("DELETE FROM pending");
	});
});

describe("alerts", () => {
	it("sends one signed alert for a storm of dead events, with the count and sample ids, then waits out its window", async () => {
		const first = await deadEvents(3);
		const second = await deadEvents(2);
		const ours = new Set([...first, ...second]);
		// Other test files' desks send to the same downstream: only alerts about these events count.
		const aboutOurs = async (ids: Set<string>) =>
			(await alertsOf("relay.event.dead")).filter(({ event }) => event.data.sampleIds.some((id) => ids.has(id)));
		// Gathering: nothing goes out in the first 30 s.
		expect(await desk().flush(Date.now())).toBe(0);
		const sentAt = Date.now() + 31_000;
		expect(await desk().flush(sentAt)).toBe(1);

		const alerts = await aboutOurs(ours);
		expect(alerts).toHaveLength(1);
		const { event, headers, body } = alerts[0]!;
		expect(event).toMatchObject({ specversion: "1.0", subject: "default", data: { destination: "default", count: 5 } });
		expect([...event.data.sampleIds].sort()).toEqual([...ours].sort());
		expect(headers["webhook-id"]).toBe(event.id);
		expect(() => new Webhook(TEST_ENV.ALERT_SIGNING_SECRET).verify(body, headers)).not.toThrow();

		// More dead events within 15 minutes are counted into the next alert, not sent one by one.
		const third = await deadEvents(1);
		expect(await desk().flush(sentAt + 31_000)).toBe(0);
		expect(await aboutOurs(new Set(third))).toHaveLength(0);
		expect(await desk().flush(sentAt + 15 * MINUTE_MS + 1)).toBe(1);
		const [next] = await aboutOurs(new Set(third));
		expect(next?.event.data).toMatchObject({ count: 1, sampleIds: third });
	});

	it("retries an alert the endpoint refused, on a backoff, and says so in the log", async () => {
		const marker = crypto.randomUUID();
		// Only this alert is refused: other test files' desks send to the same path.
		await scriptResponses(ALERT_PATH, [{ status: 503 }], { bodyContains: marker });
		const ours = async () =>
			(await alertsOf("relay.storage.near_budget")).filter(({ event }) => event.data.marker === marker);
		await raiseAlert(env, { type: "relay.storage.near_budget", key: "d1", count: 1, data: { ratio: 0.85, marker } });
		// Due at once: this flush or the desk's own alarm sends it (never both), and it is refused.
		await desk().flush(Date.now());
		await vi.waitUntil(async () => (await ours()).length === 1, { timeout: BACKGROUND_WAIT_MS });
		expect(await pendingCount()).toBe(1);
		// Not before the backoff's first minute; then it goes, once.
		expect(await desk().flush(Date.now() + 30_000)).toBe(0);
		expect(await desk().flush(Date.now() + 2 * MINUTE_MS)).toBe(1);
		expect(await ours()).toHaveLength(2);
		expect(await pendingCount()).toBe(0);
	});

	it("keeps a raise that comes in while its alert is being sent, for the next alert", async () => {
		const marker = crypto.randomUUID();
		const alert = { type: "relay.event.dead", key: "default", data: { marker } } as const;
		await scriptResponses(ALERT_PATH, [{ status: 204, delayMs: 1000 }], { bodyContains: marker });
		await raiseAlert(env, { ...alert, count: 2, ids: ["evt_a", "evt_b"] });
		const sending = desk().flush(Date.now() + 31_000);
		await new Promise((resolve) => setTimeout(resolve, 300));
		await raiseAlert(env, { ...alert, count: 1, ids: ["evt_c"] });
		expect(await sending).toBe(1);
		expect(await pendingCount()).toBe(1);
		const left = await runInDurableObject(desk(), (_instance: AlertDesk, state) =>
			state.storage.sql.exec<{ ids: string }>("SELECT ids FROM pending WHERE type = 'relay.event.dead'").one(),
		);
		expect(JSON.parse(left.ids)).toEqual(["evt_c"]);
	});

	it("raises nothing without ALERT_URL", async () => {
		// A dead-event alert gathers for 30 s, so a raise would still be pending here, not sent.
		const alert = { type: "relay.event.dead", key: "default", count: 1, data: {} } as const;
		await raiseAlert({ ...env, ALERT_URL: "" }, alert);
		expect(await pendingCount()).toBe(0);
		await raiseAlert(env, alert);
		expect(await pendingCount()).toBe(1);
	});

	it("raises a stalled-outbox alert when a ledger's copies have waited for D1 ten minutes", async () => {
		const before = (await alertsOf("relay.outbox.stalled")).length;
		await withEventTablesBroken(async () => {
			const event = element("spec2026__message-delivered_sms.object.json");
			expect((await postCallback([event])).status).toBe(200);
			// The Worker reports the D1 write it could not make: the row waits in the outbox.
			await vi.waitUntil(async () => (await pendingInLedger(event.message.id)).length > 0, {
				timeout: BACKGROUND_WAIT_MS,
			});
			// The cron's ledger visit, then its stalled-outbox check (runMaintenance does both, then
			// purges D1, which this outage would fail).
			const later = Date.now() + OUTBOX_STALLED_MS + MINUTE_MS;
			const ledgers = await maintainLedgers(env, later);
			expect(ledgers.reports.some((report) => report.outbox > 0 && report.outboxSince !== null)).toBe(true);
			await alertStalledOutboxes(env, ledgers.reports, later);
		});
		// Due at once: this flush or the desk's own alarm sends it.
		await desk().flush(Date.now() + 1);
		await vi.waitUntil(async () => (await alertsOf("relay.outbox.stalled")).length > before, {
			timeout: BACKGROUND_WAIT_MS,
		});
		const { event } = (await alertsOf("relay.outbox.stalled")).at(-1)!;
		expect(event.data).toMatchObject({ ledgers: expect.any(Number), rows: expect.any(Number) });
		expect(event.data.ledgers).toBeGreaterThanOrEqual(1);
	});

	it("words each type for a chat channel (ALERT_FORMAT=slack)", () => {
		const base = {
			specversion: "1.0",
			id: "alrt_1",
			source: "bandwidth-relay",
			time: "",
			datacontenttype: "application/json",
		} as const;
		const data = { count: 4, sampleIds: [], since: "2026-12-01T00:00:00.000Z" };
		expect(alertText({ ...base, type: "relay.event.dead", subject: "default", data })).toBe(
			'[bandwidth-relay] relay.event.dead: 4 event(s) went dead for destination default since 2026-12-01T00:00:00.000Z; replay them with POST /v1/replay {"dead":true}',
		);
		expect(
			alertText({ ...base, type: "relay.storage.near_budget", subject: "d1", data: { ...data, ratio: 0.853 } }),
		).toContain("D1 is at 85 % of D1_BUDGET_MB");
	});
});
