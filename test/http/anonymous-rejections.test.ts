import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { adminFetch, RELAY_URL } from "../helpers/admin";
import { expectError, fetchWithVars } from "../helpers/http";
import { TEST_ENV } from "../setup/test-env";

/*
 * What anyone on the internet can make the relay log: refusals that need no credentials (401,
 * 403, 404, 405, 429) are counted, not logged one line each, and no line carries a caller's whole
 * path. A wrong admin token is also slowed down per client address.
 */

afterEach(() => {
	vi.restoreAllMocks();
});

function spyOnLogs(): MockInstance[] {
	return [vi.spyOn(console, "log"), vi.spyOn(console, "warn"), vi.spyOn(console, "error")];
}

function linesOf(spies: MockInstance[]): string[] {
	return spies.flatMap((spy) => spy.mock.calls.map(([line]) => String(line)));
}

const LONG = "a".repeat(3000);

describe("refusals anyone can cause", () => {
	it("are counted, a bounded line per status at most, however long the path", async () => {
		const spies = spyOnLogs();
		const requests: Array<[method: string, path: string, init?: RequestInit]> = [
			["GET", `/${LONG}`],
			["GET", `/v1/${LONG}`],
			["GET", `/v1/${LONG}`, { headers: { authorization: "Bearer not-the-token" } }],
			["GET", `/media/${LONG}`],
			["DELETE", `/media/${LONG}`],
			["POST", "/health"],
			["GET", "/bandwidth/messaging"],
			["GET", `/media/1476207046829/0?exp=1&sig=${"A".repeat(43)}`],
		];
		for (let round = 0; round < 5; round += 1) {
			for (const [method, path, init] of requests) {
				const response = await exports.default.fetch(`${RELAY_URL}${path}`, { ...init, method });
				expect([401, 403, 404, 405]).toContain(response.status);
				expect(await response.json()).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
			}
		}
		const lines = linesOf(spies);
		// 40 refusals of four statuses: at most one line for each status's counter.
		expect(lines.length).toBeLessThanOrEqual(4);
		for (const line of lines) {
			expect(line.length).toBeLessThan(600);
			expect(JSON.parse(line)).toMatchObject({ event: "request_rejected_total", count: expect.any(Number) });
		}
	});

	it("with ADMIN_TOKEN unset, /v1 answers 404 and is counted too", async () => {
		const spies = spyOnLogs();
		for (let i = 0; i < 5; i += 1) {
			const response = await fetchWithVars({ ADMIN_TOKEN: "" }, new Request(`${RELAY_URL}/v1/${LONG}`));
			await expectError(response, 404, "not_found");
		}
		const lines = linesOf(spies);
		expect(lines.length).toBeLessThanOrEqual(1);
		for (const line of lines) expect(line.length).toBeLessThan(600);
	});
});

describe("rejections of an authenticated caller", () => {
	it("are still logged one line each, the path cut to a bounded length with its full length noted", async () => {
		const spies = spyOnLogs();
		const response = await adminFetch(`/v1/archive/${LONG}`);
		expect(response.status).toBeGreaterThanOrEqual(400);
		expect(response.status).toBeLessThan(500);
		const [line, ...rest] = linesOf(spies);
		expect(rest).toEqual([]);
		expect(line!.length).toBeLessThan(600);
		expect(JSON.parse(line!)).toMatchObject({
			event: "request_rejected",
			path: expect.stringMatching(/^\/v1\/archive\/a+…$/),
			pathLength: `/v1/archive/${LONG}`.length,
		});
	});
});

describe("wrong admin tokens", () => {
	/** A client address of its own for each test: the bound is kept per address. */
	function clientAddress(): string {
		const random = crypto.getRandomValues(new Uint16Array(2));
		return `2001:db8:${random[0]!.toString(16)}:${random[1]!.toString(16)}::1`;
	}

	const fromAddress = (address: string, token: string | null) =>
		adminFetch("/v1/stats", { token, headers: { "cf-connecting-ip": address } });

	it("from one address: ten a minute, then 429 rate_limited with Retry-After, even for the right token", async () => {
		const address = clientAddress();
		for (let i = 0; i < 10; i += 1) {
			await expectError(await fromAddress(address, `guess-${i}`), 401, "unauthorized");
		}
		const refused = await fromAddress(address, "guess-10");
		await expectError(refused, 429, "rate_limited");
		const retryAfter = Number(refused.headers.get("retry-after"));
		expect(retryAfter).toBeGreaterThanOrEqual(1);
		expect(retryAfter).toBeLessThanOrEqual(60);
		// A right guess now would be indistinguishable from a wrong one.
		await expectError(await fromAddress(address, TEST_ENV.ADMIN_TOKEN), 429, "rate_limited");
		// Another address, even in the same /48, is not held back.
		expect((await fromAddress(clientAddress(), TEST_ENV.ADMIN_TOKEN)).status).toBe(200);
	});

	it("a missing token is not a guess, and the right token does not count", async () => {
		const address = clientAddress();
		for (let i = 0; i < 15; i += 1) {
			await expectError(await fromAddress(address, null), 401, "unauthorized");
			expect((await fromAddress(address, TEST_ENV.ADMIN_TOKEN)).status).toBe(200);
		}
	});
});
