import { describe, expect, it } from "vitest";
import { eventIdOf } from "../../src/bandwidth/event-id";
import { readIngestConfig } from "../../src/config";
import { basicAuthorization, CALLBACK_URL } from "../helpers/callback";
import { element } from "../helpers/fixtures";
import { expectError, fetchWithVars } from "../helpers/http";
import { eventsOf, quarantineRows, waitForEvents } from "../helpers/storage";
import { TEST_ENV } from "../setup/test-env";

/*
 * BANDWIDTH_CREDENTIALS: several callback credentials, each optionally limited to application ids,
 * so that a credential leaked from one application cannot inject events for another.
 */

const MARKETING_APP = "93de2206-9669-4e07-948d-329f4b722ee2";
const TWO_FA_APP = "1b8d3c3a-5f2e-4a4c-9c55-2fa000000001";
const CREDENTIALS = JSON.stringify([
	{ username: "marketing", password: "marketing-secret", applicationIds: [MARKETING_APP] },
	{ username: "support", password: "support-secret" },
]);

function post(elements: unknown[], username: string, password: string, vars = { BANDWIDTH_CREDENTIALS: CREDENTIALS }) {
	return fetchWithVars(
		vars,
		new Request(CALLBACK_URL, {
			method: "POST",
			headers: { "content-type": "application/json", authorization: basicAuthorization(username, password) },
			body: JSON.stringify(elements),
		}),
	);
}

const forApp = (applicationId: string) =>
	element("spec2026__message-delivered_sms.object.json", { message: { applicationId } });

async function idOf(event: ReturnType<typeof forApp>): Promise<string> {
	return eventIdOf({ type: event.type, messageId: event.message.id, to: event.to, time: event.time });
}

describe("per-application callback credentials", () => {
	it("stores a restricted credential's events for its own application and quarantines another application's, still 200", async () => {
		const own = forApp(MARKETING_APP);
		const foreign = forApp(TWO_FA_APP);
		const response = await post([own, foreign], "marketing", "marketing-secret");
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({ received: 2, stored: 1, duplicates: 0, quarantined: 1 });
		expect((await waitForEvents(own.message.id, 1)).map((row) => row.id)).toEqual([await idOf(own)]);
		expect(await eventsOf(foreign.message.id)).toEqual([]);
		const [row] = (await quarantineRows("message.applicationId:%")).filter((quarantined) =>
			quarantined.raw_json.includes(foreign.message.id),
		);
		expect(row?.reason).toBe(
			`message.applicationId: "${TWO_FA_APP}" is not an application this callback credential may post for (BANDWIDTH_CREDENTIALS)`,
		);
	});

	it("lets an unrestricted credential, and BANDWIDTH_USERNAME/PASSWORD beside the list, post for any application", async () => {
		const first = forApp(TWO_FA_APP);
		expect(await (await post([first], "support", "support-secret")).json()).toMatchObject({ stored: 1 });
		const second = forApp(TWO_FA_APP);
		const single = await post([second], TEST_ENV.BANDWIDTH_USERNAME, TEST_ENV.BANDWIDTH_PASSWORD);
		expect(await single.json()).toMatchObject({ stored: 1, quarantined: 0 });
	});

	it("refuses one credential's username with another's password", async () => {
		await expectError(await post([forApp(MARKETING_APP)], "marketing", "support-secret"), 401, "unauthorized");
		await expectError(await post([forApp(MARKETING_APP)], "nobody", "marketing-secret"), 401, "unauthorized");
	});

	it("works alone, without BANDWIDTH_USERNAME/PASSWORD", async () => {
		const vars = { BANDWIDTH_CREDENTIALS: CREDENTIALS, BANDWIDTH_USERNAME: "", BANDWIDTH_PASSWORD: "" };
		expect((await post([forApp(MARKETING_APP)], "marketing", "marketing-secret", vars)).status).toBe(200);
		await expectError(
			await post([forApp(MARKETING_APP)], TEST_ENV.BANDWIDTH_USERNAME, TEST_ENV.BANDWIDTH_PASSWORD, vars),
			401,
			"unauthorized",
		);
	});

	it("answers 503 not_configured on an invalid list, and the log's message names the entry and field", async () => {
		const invalid = JSON.stringify([
			{ username: "a", password: "x" },
			{ username: "b", password: "" },
		]);
		await expectError(
			await post([forApp(MARKETING_APP)], "a", "x", { BANDWIDTH_CREDENTIALS: invalid }),
			503,
			"not_configured",
		);
		expect(readIngestConfig({ BANDWIDTH_CREDENTIALS: invalid })).toEqual({
			ok: false,
			message: "BANDWIDTH_CREDENTIALS[1].password: password must not be empty",
		});
	});

	it.each([
		["not JSON", "user:pass", "BANDWIDTH_CREDENTIALS is not valid JSON"],
		["an object", '{"username":"a","password":"b"}', "BANDWIDTH_CREDENTIALS must be a JSON array"],
		[
			"a colon in a username",
			'[{"username":"a:b","password":"c"}]',
			"BANDWIDTH_CREDENTIALS[0].username: username must not contain ':'",
		],
		[
			"a username twice",
			'[{"username":"a","password":"b"},{"username":"a","password":"c"}]',
			"BANDWIDTH_CREDENTIALS names a username twice",
		],
		[
			"an empty applicationIds",
			'[{"username":"a","password":"b","applicationIds":[]}]',
			"BANDWIDTH_CREDENTIALS[0].applicationIds: applicationIds must list at least one id (leave it out to allow every application)",
		],
	])("names the problem with %s", (_name, value, message) => {
		expect(readIngestConfig({ BANDWIDTH_CREDENTIALS: value })).toEqual({ ok: false, message });
	});
});
