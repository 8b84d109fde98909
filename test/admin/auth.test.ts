import { describe, expect, it } from "vitest";
import { adminFetch, RELAY_URL } from "../helpers/admin";
import { basicAuthorization } from "../helpers/callback";
import { expectError, fetchWithVars } from "../helpers/http";
import { TEST_ENV } from "../setup/test-env";

const CHALLENGE = 'Bearer realm="bandwidth-relay"';

const ADMIN_REQUESTS: Array<[method: string, path: string]> = [
	["GET", "/v1/messages/1593110555875xo7watq5px6rbe5d"],
	["GET", "/v1/events"],
	["GET", "/v1/quarantine"],
	["POST", `/v1/quarantine/qtn_${"a".repeat(26)}/reprocess`],
	["GET", "/v1/deliveries?status=dead"],
	["POST", "/v1/replay"],
	["GET", "/v1/stats"],
];

describe("admin authentication", () => {
	it.each(ADMIN_REQUESTS)("challenges %s %s without a token", async (method, path) => {
		const response = await adminFetch(path, { method, token: null });
		expect(response.headers.get("www-authenticate")).toBe(CHALLENGE);
		await expectError(response, 401, "unauthorized");
	});

	it.each(ADMIN_REQUESTS)("rejects %s %s with a wrong token", async (method, path) => {
		const response = await adminFetch(path, { method, token: "not-the-admin-token" });
		expect(response.headers.get("www-authenticate")).toBe(CHALLENGE);
		await expectError(response, 401, "unauthorized");
	});

	it("rejects the token as a prefix, with extra text, or in another scheme", async () => {
		for (const authorization of [
			`Bearer ${TEST_ENV.ADMIN_TOKEN}x`,
			`Bearer ${TEST_ENV.ADMIN_TOKEN.slice(0, -1)}`,
			`Bearer ${TEST_ENV.ADMIN_TOKEN} extra`,
			`Basic ${btoa(`admin:${TEST_ENV.ADMIN_TOKEN}`)}`,
			basicAuthorization(),
			TEST_ENV.ADMIN_TOKEN,
		]) {
			const response = await adminFetch("/v1/stats", { token: null, headers: { authorization } });
			await expectError(response, 401, "unauthorized");
		}
	});

	it("accepts the token, and the scheme in any case", async () => {
		expect((await adminFetch("/v1/stats")).status).toBe(200);
		const lower = await adminFetch("/v1/stats", {
			token: null,
			headers: { authorization: `bearer ${TEST_ENV.ADMIN_TOKEN}` },
		});
		expect(lower.status).toBe(200);
	});

	it("looks absent while ADMIN_TOKEN is unset: 404 on every /v1 route, with or without a token", async () => {
		for (const [method, path] of [...ADMIN_REQUESTS, ["GET", "/v1/nothing-here"] as [string, string]]) {
			for (const authorization of [`Bearer ${TEST_ENV.ADMIN_TOKEN}`, `Bearer `, null]) {
				const headers: Record<string, string> = authorization === null ? {} : { authorization };
				const response = await fetchWithVars(
					{ ADMIN_TOKEN: "" },
					new Request(`${RELAY_URL}${path}`, { method, headers }),
				);
				expect(response.headers.get("www-authenticate")).toBeNull();
				await expectError(response, 404, "not_found");
			}
		}
	});

	it("answers an unknown /v1 path like any unknown route once authenticated", async () => {
		await expectError(await adminFetch("/v1/nothing-here"), 404, "not_found");
		// Without a token the caller learns nothing about which paths exist.
		await expectError(await adminFetch("/v1/nothing-here", { token: null }), 401, "unauthorized");
	});
});

describe("methods", () => {
	it.each([
		["DELETE", "/v1/events", "GET, HEAD"],
		["POST", "/v1/messages/abc", "GET, HEAD, DELETE"],
		["PUT", "/v1/quarantine", "GET, HEAD"],
		["GET", `/v1/quarantine/qtn_${"a".repeat(26)}/reprocess`, "POST"],
		["PATCH", "/v1/deliveries", "GET, HEAD"],
		["GET", "/v1/replay", "POST"],
		["POST", "/v1/stats", "GET, HEAD"],
	])("answers %s %s with 405 and Allow: %s", async (method, path, allow) => {
		const response = await adminFetch(path, { method });
		expect(response.headers.get("allow")).toBe(allow);
		await expectError(response, 405, "method_not_allowed");
	});

	it("checks the token before the method", async () => {
		await expectError(await adminFetch("/v1/replay", { method: "GET", token: null }), 401, "unauthorized");
	});
});
