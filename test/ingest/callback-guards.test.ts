import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { basicAuthorization, CALLBACK_URL } from "../helpers/callback";
import { element } from "../helpers/fixtures";
import { expectError } from "../helpers/http";

/*
 * What stands before the credentials: BANDWIDTH_ALLOWED_IPS and CALLBACK_RATE_LIMITER, both keyed
 * on CF-Connecting-IP (which Cloudflare sets on every request from the internet).
 */

const delivered = () => element("spec2026__message-delivered_sms.object.json");

afterEach(() => {
	vi.restoreAllMocks();
});

async function post(
	clientIp: string | null,
	overrides: Partial<Record<string, unknown>> = {},
	authorization: string | null = basicAuthorization(),
): Promise<Response> {
	const headers: Record<string, string> = { "content-type": "application/json" };
	if (clientIp !== null) headers["cf-connecting-ip"] = clientIp;
	if (authorization !== null) headers.authorization = authorization;
	const request = new Request(CALLBACK_URL, { method: "POST", headers, body: JSON.stringify([delivered()]) });
	return worker.fetch(request, { ...env, ...overrides } as Env, createExecutionContext());
}

/** A fresh client in TEST-NET-3 for each test, so the limiter's counts do not carry over. */
let nextHost = 1;
const freshIp = () => `203.0.113.${nextHost++}`;

describe("BANDWIDTH_ALLOWED_IPS", () => {
	const allowed = { BANDWIDTH_ALLOWED_IPS: "192.0.2.0/24, 2001:db8::/32" };

	it.each(["192.0.2.7", "2001:db8:5::1", "::ffff:192.0.2.9"])("lets %s post", async (clientIp) => {
		expect((await post(clientIp, allowed)).status).toBe(200);
	});

	it.each(["198.51.100.1", "2001:db9::1", "127.0.0.1"])("answers %s 403 forbidden_ip", async (clientIp) => {
		await expectError(await post(clientIp, allowed), 403, "forbidden_ip");
	});

	it("refuses a request with no client address to check", async () => {
		await expectError(await post(null, allowed), 403, "forbidden_ip");
	});

	it("refuses before the credentials are asked for, and counts rather than logs each refusal", async () => {
		const spies = [vi.spyOn(console, "log"), vi.spyOn(console, "warn"), vi.spyOn(console, "error")];
		for (let i = 0; i < 4; i += 1) await expectError(await post("198.51.100.1", allowed, null), 403, "forbidden_ip");
		const lines = spies.flatMap((spy) => spy.mock.calls.map(([line]) => JSON.parse(String(line))));
		expect(lines.filter((line) => line.event !== "callback_forbidden_ip_total")).toEqual([]);
		expect(lines.length).toBeLessThanOrEqual(1);
	});

	it("lets any address post while unset", async () => {
		expect((await post("198.51.100.1", { BANDWIDTH_ALLOWED_IPS: "" })).status).toBe(200);
	});

	it("answers 503 not_configured, to everyone, while the list is invalid", async () => {
		const response = await post("192.0.2.7", { BANDWIDTH_ALLOWED_IPS: "192.0.2.0/24, 192.0.2.300" });
		expect(await expectError(response, 503, "not_configured")).toBe("the relay is not configured");
	});
});

describe("CALLBACK_RATE_LIMITER", () => {
	/** A real limiter from vitest.config.ts: 3 requests a minute per key. */
	const tight = () => ({ CALLBACK_RATE_LIMITER: env.TEST_TIGHT_RATE_LIMITER });

	it("is bound by wrangler.toml", () => {
		expect(typeof env.CALLBACK_RATE_LIMITER.limit).toBe("function");
	});

	it("answers 429 rate_limited with Retry-After once a client is over the limit", async () => {
		const clientIp = freshIp();
		for (let i = 0; i < 3; i += 1) expect((await post(clientIp, tight())).status).toBe(200);
		const response = await post(clientIp, tight());
		expect(response.headers.get("retry-after")).toBe("60");
		await expectError(response, 429, "rate_limited");
		// Another client is counted on its own.
		expect((await post(freshIp(), tight())).status).toBe(200);
	});

	it("counts unauthenticated requests too, so guessing credentials is bounded", async () => {
		const clientIp = freshIp();
		for (let i = 0; i < 3; i += 1) await expectError(await post(clientIp, tight(), null), 401, "unauthorized");
		await expectError(await post(clientIp, tight(), null), 429, "rate_limited");
	});

	it("counts an IPv6 client by its /64", async () => {
		for (let i = 1; i <= 3; i += 1) expect((await post(`2001:db8:77:1::${i}`, tight())).status).toBe(200);
		await expectError(await post("2001:db8:77:1::ffff", tight()), 429, "rate_limited");
		expect((await post("2001:db8:77:2::1", tight())).status).toBe(200);
	});

	it("does not count requests made on this machine or without a client address", async () => {
		for (let i = 0; i < 5; i += 1) {
			expect((await post("127.0.0.1", tight())).status).toBe(200);
			expect((await post(null, tight())).status).toBe(200);
		}
	});

	it("is optional: without the binding every request goes on to the credentials", async () => {
		const clientIp = freshIp();
		for (let i = 0; i < 5; i += 1)
			expect((await post(clientIp, { CALLBACK_RATE_LIMITER: undefined })).status).toBe(200);
	});
});
