import { expect, it } from "vitest";
import { METER_UNITS } from "../../src/meter/meter";
import type { MeterReading } from "../../src/meter/meter-reading";
import { adminFetch, RELAY_URL } from "../helpers/admin";
import { postCallback } from "../helpers/callback";
import { fetchWithVars } from "../helpers/http";
import { TEST_ENV } from "../setup/test-env";

const meterOn = (path: string, init: RequestInit = {}) =>
	fetchWithVars(
		{ METER_ENDPOINT: "true" },
		new Request(`${RELAY_URL}${path}`, { ...init, headers: { authorization: `Bearer ${TEST_ENV.ADMIN_TOKEN}` } }),
	);

it("does not exist unless METER_ENDPOINT is true", async () => {
	expect((await adminFetch("/v1/meter")).status).toBe(404);
	expect((await adminFetch("/v1/meter/reset", { method: "POST" })).status).toBe(404);
});

it("needs the admin token like the rest of /v1", async () => {
	const response = await fetchWithVars({ METER_ENDPOINT: "true" }, new Request(`${RELAY_URL}/v1/meter`));
	expect(response.status).toBe(401);
});

it("reads the counts since the last reset, leaving out the reading request itself", async () => {
	const reset = await meterOn("/v1/meter/reset", { method: "POST" });
	expect(reset.status).toBe(200);
	const { since } = await reset.json<{ since: string }>();

	const empty = await (await meterOn("/v1/meter")).json<MeterReading>();
	expect(empty).toEqual({ since, counts: Object.fromEntries(METER_UNITS.map((unit) => [unit, 0])) });

	// A reading counts the readings before it (they ran in the window); only its own request is left out.
	await meterOn("/v1/meter/reset", { method: "POST" });
	expect((await postCallback([])).status).toBe(200);
	const { counts } = await (await meterOn("/v1/meter")).json<MeterReading>();
	expect(counts).toMatchObject({ workerRequests: 1, logLines: 0 });
});

it("answers 405 to other methods", async () => {
	expect((await meterOn("/v1/meter", { method: "DELETE" })).status).toBe(405);
	expect((await meterOn("/v1/meter/reset")).status).toBe(405);
});
