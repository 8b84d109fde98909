import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import packageJson from "../../package.json";
import { readStorage } from "../../src/db/storage.repository";
import { RELAY_URL } from "../helpers/admin";
import { clearTables, insertEventRows, insertLegacyEventRows } from "../helpers/d1-rows";
import { expectError, fetchWithVars } from "../helpers/http";
import { withTableRenamed } from "../helpers/storage";

const health = (init?: RequestInit) => exports.default.fetch(`${RELAY_URL}/health`, init);

describe("GET /health", () => {
	it("answers ok with the version and how full D1 is, without authentication", async () => {
		await clearTables();
		const response = await health();
		expect(response.status).toBe(200);
		expect(response.headers.get("cache-control")).toBe("no-store");
		expect(await response.json()).toEqual({
			status: "ok",
			d1: "ok",
			config: "ok",
			version: packageJson.version,
			// wrangler.toml's D1_BUDGET_MB (8000) in bytes; no events yet, so no history.
			storage: { d1: { sizeBytes: expect.any(Number), budgetBytes: 8_000_000_000, historyFrom: null } },
		});
	});

	it("reports D1's size as D1 measures it and the start of the oldest quarter it holds events of", async () => {
		await clearTables();
		await insertEventRows([{ eventTime: "2026-11-02T10:00:00.000Z" }, { eventTime: "2026-11-01T09:30:00.000Z" }]);
		const { sizeBytes } = await readStorage(env.DB);
		const body = await (await health()).json<{ storage: { d1: unknown } }>();
		// Events are filed by receipt: the history starts with the oldest table, read from the schema
		// (09:30 falls in the quarter from 06:00).
		expect(body.storage.d1).toEqual({ sizeBytes, budgetBytes: 8_000_000_000, historyFrom: "2026-11-01T06:00:00.000Z" });
		expect(sizeBytes).toBeGreaterThan(0);
	});

	it("reports the oldest event time of the legacy table while it holds events", async () => {
		await clearTables();
		await insertEventRows([{ eventTime: "2026-11-02T10:00:00.000Z" }]);
		await insertLegacyEventRows([{ eventTime: "2026-10-20T08:15:00.000Z" }]);
		const body = await (await health()).json<{ storage: { d1: { historyFrom: string } } }>();
		expect(body.storage.d1.historyFrom).toBe("2026-10-20T08:15:00.000Z");
		await clearTables();
	});

	it("reports the budget D1_BUDGET_MB sets", async () => {
		const response = await fetchWithVars({ D1_BUDGET_MB: "500" }, new Request(`${RELAY_URL}/health`));
		const body = await response.json<{ storage: { d1: { budgetBytes: number } } }>();
		expect(body.storage.d1.budgetBytes).toBe(500_000_000);
	});

	it("answers even while the admin API is disabled", async () => {
		const response = await fetchWithVars({ ADMIN_TOKEN: "" }, new Request(`${RELAY_URL}/health`));
		expect(response.status).toBe(200);
	});

	it("answers 503 degraded while D1 has lost the relay's tables, with no error detail", async () => {
		const response = await withTableRenamed("deliveries", () => health());
		expect(response.status).toBe(503);
		const body = await response.text();
		expect(JSON.parse(body)).toEqual({
			status: "degraded",
			d1: "unreachable",
			config: "ok",
			version: packageJson.version,
			storage: null,
		});
		expect(body).not.toMatch(/sqlite|no such table|deliveries/i);
		expect((await health()).status).toBe(200);
	});

	it("says the configuration is invalid, without saying how, and logs what is wrong", async () => {
		const errors: string[] = [];
		const original = console.error;
		console.error = (line: string) => errors.push(line);
		try {
			const response = await fetchWithVars(
				{ FORWARD_SIGNING_SECRET: "whsec_c2hvcnQ=" },
				new Request(`${RELAY_URL}/health`),
			);
			expect(response.status).toBe(200);
			const body = await response.text();
			expect(JSON.parse(body)).toMatchObject({ status: "degraded", d1: "ok", config: "config_invalid" });
			expect(body).not.toMatch(/FORWARD_SIGNING_SECRET|whsec/);
		} finally {
			console.error = original;
		}
		expect(errors.some((line) => /"event":"config_invalid".*FORWARD_SIGNING_SECRET/.test(line))).toBe(true);
	});

	it("answers other methods with 405 and Allow", async () => {
		const response = await health({ method: "POST" });
		expect(response.headers.get("allow")).toBe("GET, HEAD");
		await expectError(response, 405, "method_not_allowed");
		expect((await health({ method: "HEAD" })).status).toBe(200);
	});
});
