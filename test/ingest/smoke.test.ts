import { env } from "cloudflare:workers";
import { expect, it, vi } from "vitest";
import sample from "../fixtures/bandwidth/spec2026__message-delivered_sms.array.json";
import { postCallback } from "../helpers/callback";

it("accepts a delivered callback and stores it", async () => {
	const response = await postCallback(sample);
	expect(response.status).toBe(200);
	expect(await response.json()).toEqual({ received: 1, stored: 1, duplicates: 0, quarantined: 0 });
	const row = await vi.waitUntil(() => env.DB.prepare("SELECT * FROM events").first(), { timeout: 5000 });
	expect(row).toMatchObject({ type: "bandwidth.message.delivered" });
});

import { Webhook } from "standardwebhooks";
import { receivedAt } from "../helpers/downstream";
import { TEST_ENV } from "../setup/test-env";

it("forwards it signed", async () => {
	await postCallback(sample);
	const requests = await vi.waitUntil(
		async () => {
			const all = await receivedAt();
			return all.length > 0 ? all : undefined;
		},
		{ timeout: 5000 },
	);
	const request = requests[0]!;
	const secret = TEST_ENV.FORWARD_SIGNING_SECRET.split(" ")[1]!;
	const payload = new Webhook(secret).verify(request.body, request.headers);
	console.log(request.headers, payload);
});
