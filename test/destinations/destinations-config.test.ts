import { describe, expect, it } from "vitest";
import { configProblems } from "../../src/config";
import { readDestinations } from "../../src/destinations/read-destinations";
import { routeEvent } from "../../src/destinations/route-event";

const SECRET_A = "whsec_YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=";
const SECRET_B = "whsec_YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=";

function read(vars: Record<string, unknown>) {
	return readDestinations({ FORWARD_TIMEOUT_MS: "10000", ...vars });
}

function problem(vars: Record<string, unknown>): string {
	const result = read(vars);
	if (result.ok) throw new Error("expected a configuration problem");
	return result.message;
}

describe("DESTINATIONS", () => {
	it("keeps FORWARD_URL working as the one destination named default", () => {
		const result = read({
			FORWARD_URL: "https://example.com/hook",
			FORWARD_SIGNING_SECRET: SECRET_A,
			FORWARD_EVENT_TYPES: "bandwidth.message.received",
			FORWARD_DIRECTIONS: "inbound,outbound",
		});
		expect(result.ok && result.value.list).toEqual([
			expect.objectContaining({
				name: "default",
				url: "https://example.com/hook",
				signingSecrets: [SECRET_A],
				types: new Set(["bandwidth.message.received"]),
				directions: null,
			}),
		]);
	});

	it("reads a JSON string and a TOML array alike, each with its own secret", () => {
		const list = [
			{ name: "marketing", url: "https://m.example/hook", applicationIds: ["app-m"], maxPerSecond: 20 },
			{ name: "support-eu", url: "https://s.example/hook", directions: ["inbound"], maxConcurrency: 2 },
		];
		for (const DESTINATIONS of [JSON.stringify(list), list]) {
			const result = read({
				DESTINATIONS,
				FORWARD_SIGNING_SECRET: SECRET_A,
				DESTINATION_SUPPORT_EU_SIGNING_SECRET: SECRET_B,
			});
			if (!result.ok) throw new Error(result.message);
			const [marketing, support] = result.value.list;
			expect(marketing).toMatchObject({
				name: "marketing",
				signingSecrets: [SECRET_A],
				secretName: "DESTINATION_MARKETING_SIGNING_SECRET",
				applicationIds: new Set(["app-m"]),
				maxPerSecond: 20,
				maxConcurrency: null,
				timeoutMs: 10000,
			});
			expect(support).toMatchObject({
				signingSecrets: [SECRET_B],
				directions: new Set(["inbound"]),
				maxConcurrency: 2,
			});
		}
	});

	it("names the destination and the field of each mistake", () => {
		const message = problem({
			DESTINATIONS: JSON.stringify([
				{ name: "ok", url: "https://ok.example" },
				{ name: "billing", url: "https://b.example", types: ["bandwidth.message.bogus"] },
				{ name: "Bad Name", url: "not a url" },
			]),
		});
		expect(message).toContain('DESTINATIONS[1] ("billing").types[0]: types accept only:');
		expect(message).toContain('DESTINATIONS[2] ("Bad Name").name: name must be 1–40 lowercase letters');
		expect(message).toContain('DESTINATIONS[2] ("Bad Name").url: url must be an absolute URL');
		expect(problem({ DESTINATIONS: "[{" })).toBe("DESTINATIONS is not valid JSON");
		expect(
			problem({ DESTINATIONS: JSON.stringify([{ name: "a", url: "https://a.example", colour: "red" }]) }),
		).toContain('DESTINATIONS[0] ("a").colour');
	});

	it("refuses a name given twice, and a 'default' beside FORWARD_URL", () => {
		const twice = [
			{ name: "a", url: "https://a.example" },
			{ name: "a", url: "https://b.example" },
		];
		expect(problem({ DESTINATIONS: JSON.stringify(twice) })).toBe("DESTINATIONS names a destination twice");
		expect(
			problem({
				FORWARD_URL: "https://f.example",
				DESTINATIONS: JSON.stringify([{ name: "default", url: "https://d.example" }]),
			}),
		).toContain('DESTINATIONS names "default", which FORWARD_URL already is');
	});

	it("checks each destination's own secret, and says so in configProblems", () => {
		const vars = {
			DESTINATIONS: JSON.stringify([{ name: "billing", url: "https://b.example" }]),
			DESTINATION_BILLING_SIGNING_SECRET: "not-a-secret",
		};
		expect(problem(vars)).toContain("DESTINATION_BILLING_SIGNING_SECRET entries must look like whsec_<base64>");
		expect(configProblems({ ...vars, FORWARD_TIMEOUT_MS: "10000" }).join("\n")).toContain(
			"DESTINATION_BILLING_SIGNING_SECRET",
		);
	});
});

describe("routeEvent", () => {
	const result = read({
		DESTINATIONS: JSON.stringify([
			{ name: "everything", url: "https://e.example" },
			{ name: "marketing", url: "https://m.example", applicationIds: ["app-m"] },
			{ name: "inbound-m", url: "https://i.example", applicationIds: ["app-m"], directions: ["inbound"] },
			{ name: "failures", url: "https://f.example", types: ["bandwidth.message.failed"], owners: ["+15550001111"] },
		]),
	});
	if (!result.ok) throw new Error(result.message);
	const route = (event: Partial<Parameters<typeof routeEvent>[1]>) =>
		routeEvent(result.value.list, {
			type: "bandwidth.message.delivered",
			direction: "outbound",
			owner: "+15550001111",
			application_id: "app-m",
			...event,
		});

	it("sends an event to every destination whose filters all match, in configuration order", () => {
		expect(route({})).toEqual(["everything", "marketing"]);
		expect(route({ direction: "inbound", type: "bandwidth.message.received" })).toEqual([
			"everything",
			"marketing",
			"inbound-m",
		]);
		expect(route({ type: "bandwidth.message.failed" })).toEqual(["everything", "marketing", "failures"]);
		expect(route({ type: "bandwidth.message.failed", owner: "+15559999999", application_id: "app-x" })).toEqual([
			"everything",
		]);
	});

	it("never matches a filtered field the event does not have", () => {
		expect(route({ application_id: null, direction: null })).toEqual(["everything"]);
	});
});
