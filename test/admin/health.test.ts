import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import packageJson from "../../package.json";
import { RELAY_URL } from "../helpers/admin";
import { expectError, fetchWithVars } from "../helpers/http";
import { withTableRenamed } from "../helpers/storage";

const health = (init?: RequestInit) => exports.default.fetch(`${RELAY_URL}/health`, init);

describe("GET /health", () => {
	it("answers ok with the version, without authentication", async () => {
		const response = await health();
		expect(response.status).toBe(200);
		expect(response.headers.get("cache-control")).toBe("no-store");
		expect(await response.json()).toEqual({ status: "ok", d1: "ok", version: packageJson.version });
	});

	it("answers even while the admin API is disabled", async () => {
		const response = await fetchWithVars({ ADMIN_TOKEN: "" }, new Request(`${RELAY_URL}/health`));
		expect(response.status).toBe(200);
	});

	it("answers 503 degraded while D1 cannot serve the events table, with no error detail", async () => {
		const response = await withTableRenamed("events", () => health());
		expect(response.status).toBe(503);
		const body = await response.text();
		expect(JSON.parse(body)).toEqual({ status: "degraded", d1: "unreachable", version: packageJson.version });
		expect(body).not.toMatch(/sqlite|no such table|events/i);
		expect((await health()).status).toBe(200);
	});

	it("answers other methods with 405 and Allow", async () => {
		const response = await health({ method: "POST" });
		expect(response.headers.get("allow")).toBe("GET, HEAD");
		await expectError(response, 405, "method_not_allowed");
		expect((await health({ method: "HEAD" })).status).toBe(200);
	});
});
