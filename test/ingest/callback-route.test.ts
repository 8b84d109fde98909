import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { DRAIN_MAX_BYTES } from "../../src/http/read-body";
import { basicAuthorization, CALLBACK_URL, postCallback } from "../helpers/callback";
import { element } from "../helpers/fixtures";
import { expectError, fetchWithVars } from "../helpers/http";

const delivered = () => element("spec2026__message-delivered_sms.object.json");

/** The callback route of a deployment with some configuration changed. */
function fetchWith(
	vars: Partial<Record<keyof Env, string>>,
	init: RequestInit = {},
	url = CALLBACK_URL,
): Promise<Response> {
	return fetchWithVars(vars, new Request(url, { method: "POST", ...init }));
}

/** `wrangler dev` on this machine. */
const LOCAL_CALLBACK_URL = "http://127.0.0.1:8787/bandwidth/messaging";

afterEach(() => {
	vi.restoreAllMocks();
});

/** The JSON log lines written through one console method. */
function logLines(spy: MockInstance): Array<Record<string, unknown>> {
	return spy.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
}

describe("authentication", () => {
	it("answers Bandwidth's first, credential-less attempt with the Basic challenge", async () => {
		const response = await postCallback([delivered()], { authorization: null });
		expect(response.headers.get("www-authenticate")).toBe('Basic realm="bandwidth-relay"');
		await expectError(response, 401, "unauthorized");
	});

	it("rejects a wrong password with the same challenge", async () => {
		const response = await postCallback([delivered()], { authorization: basicAuthorization("bandwidth", "nope") });
		expect(response.headers.get("www-authenticate")).toBe('Basic realm="bandwidth-relay"');
		await expectError(response, 401, "unauthorized");
	});

	it("rejects a wrong username, and a malformed header", async () => {
		await expectError(
			await postCallback([delivered()], { authorization: basicAuthorization("x", "test-password") }),
			401,
			"unauthorized",
		);
		await expectError(await postCallback([delivered()], { authorization: "Basic !!!" }), 401, "unauthorized");
		await expectError(
			await postCallback([delivered()], { authorization: "Bearer test-password" }),
			401,
			"unauthorized",
		);
	});

	it("does not read the body before the credentials are checked", async () => {
		const response = await postCallback("{not json", { authorization: null, raw: true });
		await expectError(response, 401, "unauthorized");
	});

	it("answers 503 not_configured while credentials are unset, telling the caller no more than that", async () => {
		const error = vi.spyOn(console, "error");
		const response = await fetchWith(
			{ BANDWIDTH_USERNAME: "", BANDWIDTH_PASSWORD: "" },
			{ body: JSON.stringify([delivered()]), headers: { authorization: basicAuthorization() } },
		);
		expect(await expectError(response, 503, "not_configured")).toBe("the relay is not configured");
		expect(logLines(error)).toContainEqual(
			expect.objectContaining({
				event: "callback_credentials_unset",
				message: expect.stringContaining(
					"neither BANDWIDTH_CREDENTIALS nor BANDWIDTH_USERNAME and BANDWIDTH_PASSWORD are set",
				),
			}),
		);
	});

	it("accepts unauthenticated callbacks only when ALLOW_UNAUTHENTICATED is true, no credentials are set, and the request is local", async () => {
		const open = { BANDWIDTH_USERNAME: "", BANDWIDTH_PASSWORD: "", ALLOW_UNAUTHENTICATED: "true" };
		const body = () => JSON.stringify([delivered()]);
		expect((await fetchWith(open, { body: body() }, LOCAL_CALLBACK_URL)).status).toBe(200);
		const fromLoopback = { body: body(), headers: { "cf-connecting-ip": "::1" } };
		expect((await fetchWith(open, fromLoopback, "http://localhost:8787/bandwidth/messaging")).status).toBe(200);
		// Set credentials still win over the development switch.
		const guarded = await fetchWith({ ALLOW_UNAUTHENTICATED: "true" }, { body: body() }, LOCAL_CALLBACK_URL);
		await expectError(guarded, 401, "unauthorized");
	});

	it.each([
		["a deployed host", CALLBACK_URL, undefined],
		["a client on the internet", LOCAL_CALLBACK_URL, "203.0.113.9"],
		[
			"a deployed host reached from loopback",
			"https://bandwidth-relay.acme.workers.dev/bandwidth/messaging",
			"127.0.0.1",
		],
	])("ignores ALLOW_UNAUTHENTICATED for a request to %s", async (_, url, clientIp) => {
		const error = vi.spyOn(console, "error");
		const response = await fetchWith(
			{ BANDWIDTH_USERNAME: "", BANDWIDTH_PASSWORD: "", ALLOW_UNAUTHENTICATED: "true" },
			{ body: JSON.stringify([delivered()]), headers: clientIp === undefined ? {} : { "cf-connecting-ip": clientIp } },
			url,
		);
		expect(await expectError(response, 503, "not_configured")).toBe("the relay is not configured");
		expect(logLines(error)).toContainEqual(
			expect.objectContaining({
				event: "callback_credentials_unset",
				message: expect.stringContaining("ALLOW_UNAUTHENTICATED=true applies only to loopback requests"),
			}),
		);
	});

	it("counts refused credentials instead of logging a line for each", async () => {
		const spies = [vi.spyOn(console, "log"), vi.spyOn(console, "warn"), vi.spyOn(console, "error")];
		for (let i = 0; i < 5; i += 1) {
			const authorization = i % 2 === 0 ? null : basicAuthorization("bandwidth", "nope");
			await expectError(await postCallback([delivered()], { authorization }), 401, "unauthorized");
		}
		const lines = spies.flatMap(logLines);
		expect(lines.filter((line) => line.event !== "callback_unauthorized_total")).toEqual([]);
		expect(lines.length).toBeLessThanOrEqual(1);
	});

	it("answers 503 when a setting is invalid rather than guessing", async () => {
		const response = await fetchWith(
			{ MAX_BODY_BYTES: "lots" },
			{ body: JSON.stringify([delivered()]), headers: { authorization: basicAuthorization() } },
		);
		await expectError(response, 503, "not_configured");
	});

	it("refuses a body cap past what a quarantine row can hold, naming it in the log only", async () => {
		const error = vi.spyOn(console, "error");
		const response = await fetchWith(
			{ MAX_BODY_BYTES: "5000000" },
			{ body: JSON.stringify([delivered()]), headers: { authorization: basicAuthorization() } },
		);
		expect(await expectError(response, 503, "not_configured")).toBe("the relay is not configured");
		expect(logLines(error)).toContainEqual(
			expect.objectContaining({ event: "config_invalid", message: "MAX_BODY_BYTES must be at most 1800000" }),
		);
	});
});

describe("the body", () => {
	it("answers 200 with zero counts for an empty batch", async () => {
		const response = await postCallback([]);
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({ received: 0, stored: 0, duplicates: 0, quarantined: 0 });
	});

	it.each([
		["truncated JSON", '[{"type":'],
		["an empty body", ""],
		["a BOM-less garbage string", "hello"],
	])("rejects %s with 400 invalid_json", async (_, body) => {
		await expectError(await postCallback(body, { raw: true }), 400, "invalid_json");
	});

	it("rejects invalid UTF-8 with 400 invalid_json", async () => {
		const bytes = new Uint8Array([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]);
		await expectError(await postCallback(bytes, { raw: true }), 400, "invalid_json");
	});

	it.each([
		["a string", '"hello"'],
		["a number", "42"],
		["null", "null"],
		["true", "true"],
	])("rejects %s at the top level with 400 invalid_batch", async (_, body) => {
		await expectError(await postCallback(body, { raw: true }), 400, "invalid_batch");
	});

	it("rejects a declared Content-Length over MAX_BODY_BYTES with 413 before reading", async () => {
		const body = JSON.stringify([delivered()]);
		const response = await fetchWith(
			{ MAX_BODY_BYTES: "100" },
			{ body, headers: { authorization: basicAuthorization(), "content-length": String(body.length) } },
		);
		await expectError(response, 413, "payload_too_large");
	});

	/** A chunked upload of `chunks` pieces of `size` bytes (endless when undefined); counts what was pulled. */
	function upload(size: number, chunks?: number, stallAfter?: number) {
		const chunk = new TextEncoder().encode(" ".repeat(size));
		const state = { pulled: 0, cancelled: false, closed: false };
		const stream = new ReadableStream<Uint8Array>({
			async pull(controller) {
				if (stallAfter !== undefined && state.pulled >= stallAfter) return new Promise<void>(() => {});
				if (chunks !== undefined && state.pulled >= chunks) {
					state.closed = true;
					return controller.close();
				}
				state.pulled += 1;
				controller.enqueue(chunk);
			},
			cancel() {
				state.cancelled = true;
			},
		});
		return { stream, state };
	}

	const postStream = (stream: ReadableStream<Uint8Array>) =>
		fetchWith({ MAX_BODY_BYTES: "1000" }, {
			body: stream,
			headers: { authorization: basicAuthorization() },
			duplex: "half",
		} as RequestInit);

	it("reads the rest of a chunked body past MAX_BODY_BYTES before its 413, so the client is not reset mid-upload", async () => {
		const { stream, state } = upload(400, 10);
		await expectError(await postStream(stream), 413, "payload_too_large");
		// Read to its end and thrown away: none of it is kept (the 413 is decided at 1,000 bytes).
		expect(state).toMatchObject({ pulled: 10, closed: true });
	});

	it("cuts off a chunked body that goes on past what is drained", async () => {
		const { stream, state } = upload(64 * 1024);
		await expectError(await postStream(stream), 413, "payload_too_large");
		expect(state.cancelled).toBe(true);
		// The runtime pulls a few chunks ahead of the Worker's reads; a megabyte covers that.
		expect(state.pulled * 64 * 1024).toBeLessThan(DRAIN_MAX_BYTES + 1024 * 1024);
	});

	it("stops waiting for a chunked body that stalls past the cap", async () => {
		const { stream, state } = upload(400, undefined, 3);
		await expectError(await postStream(stream), 413, "payload_too_large");
		expect(state.cancelled).toBe(true);
	});

	it("rejects more than 1000 elements with 413", async () => {
		await expectError(await postCallback(Array.from({ length: 1001 }, () => ({}))), 413, "payload_too_large");
	});

	it("rejects a body that is plainly not JSON with 415", async () => {
		const response = await postCallback("type=message-received", {
			raw: true,
			headers: { "content-type": "application/x-www-form-urlencoded" },
		});
		await expectError(response, 415, "unsupported_media_type");
	});

	it("accepts JSON sent with a generic or missing content type", async () => {
		const response = await postCallback([delivered()], { headers: { "content-type": "text/plain" } });
		expect(response.status).toBe(200);
	});
});

describe("routing", () => {
	it.each(["GET", "PUT", "DELETE", "PATCH"])("answers %s on the callback route with 405 and Allow", async (method) => {
		const response = await exports.default.fetch(CALLBACK_URL, { method });
		expect(response.headers.get("allow")).toBe("POST");
		await expectError(response, 405, "method_not_allowed");
	});

	it("answers an unknown path with a JSON 404", async () => {
		await expectError(await exports.default.fetch("https://relay.test/nope"), 404, "not_found");
		await expectError(
			await exports.default.fetch("https://relay.test/bandwidth/messaging/x", { method: "POST" }),
			404,
			"not_found",
		);
	});
});
