import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import type { AlertEvent } from "../../src/alerts/alert-message";
import { alertText } from "../../src/alerts/alert-message";
import { runMaintenance } from "../../src/maintenance/run-maintenance";
import { receivedAt } from "../helpers/downstream";
import { BACKGROUND_WAIT_MS } from "../helpers/wait";
import { TEST_ENV } from "../setup/test-env";
import { type Element, messageIdAt, type PlannedMessage, postMessages, statusElement } from "./support/traffic";

/*
 * relay.deliverability.degraded and .recovered, through the alert desk to ALERT_URL (the test
 * downstream's /alerts, vitest.config.ts). The desk and the downstream are shared with other
 * files: only alerts about this test's own application and number count.
 */

const MINUTE = 60_000;

async function alertsAbout(
	subject: string,
	type: string,
): Promise<Array<{ event: AlertEvent; body: string; headers: Record<string, string> }>> {
	return (await receivedAt("/alerts"))
		.map((request) => ({ event: JSON.parse(request.body) as AlertEvent, body: request.body, headers: request.headers }))
		.filter(({ event }) => event.subject === subject && event.type === type);
}

function waitForAlert(subject: string, type: string) {
	return vi.waitUntil(
		async () => {
			const alerts = await alertsAbout(subject, type);
			return alerts.length > 0 ? alerts : undefined;
		},
		{ timeout: BACKGROUND_WAIT_MS, interval: 50 },
	);
}

/** One-recipient outbound messages from `number`: each delivered, or failed with its code. */
function receipts(applicationId: string, number: string, fates: Array<number | null>): PlannedMessage[] {
	return fates.map((code, index) => {
		const time = Date.now() - 2 * MINUTE;
		const recipient = `+1646555${String(2000 + index)}`;
		const shape = { id: messageIdAt(time), applicationId, from: number, to: [recipient], time, media: false };
		const element: Element =
			code === null
				? statusElement(shape, "message-delivered", recipient, time + 3000)
				: statusElement(shape, "message-failed", recipient, time + 3000, code);
		return { id: shape.id, callbacks: [{ element, repeat: false, concurrent: false }] };
	});
}

const fates = (delivered: number, failed: Array<[code: number, count: number]>) => [
	...Array.from({ length: delivered }, () => null),
	...failed.flatMap(([code, count]) => Array.from({ length: count }, () => code)),
];

describe("deliverability alerts", () => {
	it("raises degraded once per incident for the application and the number, then recovered when receipts come back", async () => {
		const applicationId = crypto.randomUUID();
		const number = `+1919${String(Date.now()).slice(-7)}`;
		const application = `application:${applicationId}`;
		const numberSubject = `number:${number}`;
		await postMessages(
			receipts(
				applicationId,
				number,
				fates(18, [
					[4470, 9],
					[4775, 3],
				]),
			),
		);
		const start = Date.now();
		await runMaintenance(env, start);

		const [degraded] = await waitForAlert(application, "relay.deliverability.degraded");
		const { event, body, headers } = degraded!;
		expect(() => new Webhook(TEST_ENV.ALERT_SIGNING_SECRET).verify(body, headers)).not.toThrow();
		expect(event.data).toMatchObject({
			scope: "application",
			applicationId,
			deliveryRate: 0.6,
			delivered: 18,
			failed: 12,
			receipts: 30,
			windowMinutes: 15,
			reasons: ["delivery_rate", "error_code"],
		});
		expect(event.data.topErrorCodes).toEqual([
			expect.objectContaining({
				code: 4470,
				name: "rejected-spam-detected",
				count: 9,
				share: 0.3,
				remediation: expect.stringMatching(/spam/),
			}),
			expect.objectContaining({ code: 4775, count: 3, remediation: expect.stringMatching(/opted out/) }),
		]);
		expect(alertText(event)).toContain("60.0 % of 30 receipt(s) delivered in the last 15 minutes");
		const [byNumber] = await waitForAlert(numberSubject, "relay.deliverability.degraded");
		expect(byNumber?.event.data).toMatchObject({ scope: "number", number, deliveryRate: 0.6 });

		// Still degraded a minute later: no second alert for the same incident.
		await runMaintenance(env, start + MINUTE);
		await new Promise((resolve) => setTimeout(resolve, 500));
		expect(await alertsAbout(application, "relay.deliverability.degraded")).toHaveLength(1);

		// Fifteen minutes on, the window holds only new receipts, all delivered.
		await postMessages(receipts(applicationId, number, fates(25, [])));
		await runMaintenance(env, start + 16 * MINUTE);
		const [recovered] = await waitForAlert(application, "relay.deliverability.recovered");
		expect(recovered?.event.data).toMatchObject({
			scope: "application",
			deliveryRate: 1,
			receipts: 25,
			degradedSince: new Date(start).toISOString(),
		});
		await waitForAlert(numberSubject, "relay.deliverability.recovered");
		expect(await alertsAbout(application, "relay.deliverability.degraded")).toHaveLength(1);
	});

	it("raises degraded on one error code's share while the rate is still above the threshold; too few receipts say nothing", async () => {
		const applicationId = crypto.randomUUID();
		const number = `+1919${String(Date.now() + 1).slice(-7)}`;
		// 19 receipts: under DELIVERABILITY_ALERT_MIN, however bad.
		await postMessages(receipts(applicationId, number, fates(9, [[4470, 10]])));
		await runMaintenance(env, Date.now());
		await new Promise((resolve) => setTimeout(resolve, 500));
		expect(await alertsAbout(`application:${applicationId}`, "relay.deliverability.degraded")).toHaveLength(0);

		// Six more delivered: 25 receipts, rate 0.6 — and a second application whose rate is 0.92
		// but whose one code (4775) is 8 % of its receipts, over the 5 % share.
		const second = crypto.randomUUID();
		await postMessages(receipts(second, `+1919${String(Date.now() + 2).slice(-7)}`, fates(23, [[4775, 2]])));
		await postMessages(receipts(applicationId, number, fates(6, [])));
		await runMaintenance(env, Date.now());
		await waitForAlert(`application:${applicationId}`, "relay.deliverability.degraded");
		const [share] = await waitForAlert(`application:${second}`, "relay.deliverability.degraded");
		expect(share?.event.data).toMatchObject({ deliveryRate: 0.92, reasons: ["error_code"] });
	});
});
