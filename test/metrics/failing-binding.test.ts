import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, expect, it, vi } from "vitest";
import { retryDelaySeconds } from "../../src/forward/retry-schedule";
import worker from "../../src/index";
import { flushCallbacks, resetMetricsFailureLog } from "../../src/metrics/record-metrics";
import { basicAuthorization, CALLBACK_URL } from "../helpers/callback";
import { freshPath, hookUrl, receivedAt, scriptResponses } from "../helpers/downstream";
import { element } from "../helpers/fixtures";
import { consume, jobFor, storedEvent } from "../helpers/forward";
import { quarantineRows, waitForEvents } from "../helpers/storage";
import { TEST_ENV } from "../setup/test-env";

/*
 * Metrics must never change what Bandwidth is answered or what a downstream receives. The dataset
 * here throws on every write (after noting what it was handed, so the counts can be checked too).
 */
function throwingMetrics(): {
	METRICS: Pick<AnalyticsEngineDataset, "writeDataPoint">;
	handed: AnalyticsEngineDataPoint[];
} {
	const handed: AnalyticsEngineDataPoint[] = [];
	return {
		handed,
		METRICS: {
			writeDataPoint(point) {
				if (point !== undefined) handed.push(point);
				throw new Error("Analytics Engine is unavailable");
			},
		},
	};
}

afterEach(() => {
	resetMetricsFailureLog();
	vi.restoreAllMocks();
});

async function postWith(metricsEnv: object, body: unknown): Promise<Response> {
	const ctx = createExecutionContext();
	const request = new Request(CALLBACK_URL, {
		method: "POST",
		headers: { "content-type": "application/json", authorization: basicAuthorization() },
		body: JSON.stringify(body),
	});
	const response = await worker.fetch!(
		request as Request<unknown, IncomingRequestCfProperties>,
		{ ...env, ...metricsEnv } as Env,
		ctx,
	);
	await waitOnExecutionContext(ctx);
	return response;
}

it("answers a callback as usual, with the right counts, when every metrics write throws", async () => {
	vi.spyOn(console, "warn").mockImplementation(() => {});
	const metrics = throwingMetrics();
	flushCallbacks({}, Date.now(), true);
	const valid = element("spec2026__message-failed_4432.object.json");
	const invalid = { ...element("spec2026__message-delivered_sms.object.json"), time: "not a time" };

	const first = await postWith({ METRICS: metrics.METRICS }, [valid, invalid]);
	expect(first.status).toBe(200);
	expect(await first.json()).toEqual({ received: 2, stored: 1, duplicates: 0, quarantined: 1 });
	const retried = await postWith({ METRICS: metrics.METRICS }, [valid, invalid]);
	expect(await retried.json()).toEqual({ received: 2, stored: 0, duplicates: 1, quarantined: 1 });

	// Stored, quarantined and forwarded as without metrics.
	await waitForEvents(valid.message.id, 1);
	expect((await quarantineRows()).filter((row) => row.raw_json === JSON.stringify(invalid))).toHaveLength(1);

	// Both callbacks in one point of the window, their quarantined elements included; the retry's
	// failure is not stored again.
	expect(metrics.handed).toEqual([]);
	flushCallbacks({ METRICS: metrics.METRICS }, Date.now(), true);
	const application = valid.message.applicationId;
	const blobs = ["callback", application, "bandwidth.message.failed", "4432", "time"];
	expect(metrics.handed).toEqual([{ indexes: [application], blobs, doubles: [4, 1, 1, 2, 1, 2] }]);
});

it("delivers and acks an event as usual when every metrics write throws", async () => {
	vi.spyOn(console, "warn").mockImplementation(() => {});
	const event = await storedEvent("spec2026__message-failed_4432.object.json");
	const path = freshPath();
	const metrics = throwingMetrics();
	const vars = { FORWARD_URL: hookUrl(path), METRICS: metrics.METRICS } as unknown as Partial<
		Record<keyof Env, string>
	>;

	const { result, retries, ids } = await consume([{ body: jobFor(event) }], vars);
	expect(result.explicitAcks).toEqual(ids);
	expect(retries).toEqual([]);
	expect(await receivedAt(path)).toHaveLength(1);
	expect(metrics.handed).toEqual([
		{
			indexes: ["default"],
			blobs: ["deliveries", "default", ""],
			doubles: [1, 1, 0, 0, 0, 1, expect.any(Number), expect.any(Number), 1, ...Array(5).fill(expect.any(Number))],
		},
	]);
});

it("retries a failed delivery on the same schedule when every metrics write throws", async () => {
	vi.spyOn(console, "warn").mockImplementation(() => {});
	const event = await storedEvent();
	const path = freshPath();
	await scriptResponses(path, [{ status: 503 }]);
	const metrics = throwingMetrics();
	const vars = { FORWARD_URL: hookUrl(path), METRICS: metrics.METRICS } as unknown as Partial<
		Record<keyof Env, string>
	>;

	const { result, retries, ids } = await consume([{ body: jobFor(event), attempts: 2 }], vars);
	const schedule = TEST_ENV.FORWARD_RETRY_SCHEDULE.split(",").map(Number);
	expect(result.explicitAcks).toEqual([]);
	expect(retries).toEqual([{ msgId: ids[0], delaySeconds: retryDelaySeconds(schedule, event.id, 2, null) }]);
	expect(metrics.handed).toEqual([
		{
			indexes: ["default"],
			blobs: ["deliveries", "default", "503"],
			doubles: [1, 0, 1, 0, 0, 1, expect.any(Number), expect.any(Number), 0, ...Array(5).fill(expect.any(Number))],
		},
	]);
});
