import { TEST_ENV } from "../../../../setup/test-env.ts";
import { CALLBACK_AUTH } from "../relay-api.ts";
import { bodyOfSize, type ElementFactory } from "./elements.ts";
import {
	acceptedBody,
	bytes,
	CALLBACK_PATH,
	type CorpusCase,
	callbackRequest,
	chunkedRequest,
	fateBySize,
	NOT_AN_OBJECT,
	rejected,
	STORED,
} from "./model.ts";

/*
 * What happens around the JSON: content types (415 only when plainly not JSON), credentials (401
 * with the Basic challenge; the body is never read), methods (405), and the size caps (413 past
 * MAX_BODY_BYTES whether or not a Content-Length announces it, and past 1,000 elements).
 */

const { BANDWIDTH_USERNAME: USER, BANDWIDTH_PASSWORD: PASSWORD } = TEST_ENV;
const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString("base64")}`;
/** Chunked uploads go in pieces this big, so the cap is crossed in the middle of the stream. */
const CHUNK_BYTES = 16 * 1024;
/** README: "holds more than 1,000 events" is a 413. */
const MAX_ELEMENTS = 1000;

export function transportCases(factory: ElementFactory, maxBodyBytes: number): CorpusCase[] {
	const cases: CorpusCase[] = [];
	const event = (name: string) => {
		const element = factory.element("received", name);
		return { id: element.message.id, body: `[${JSON.stringify(element)}]` };
	};

	const notJson: readonly (readonly [string, (json: string) => string])[] = [
		["application/x-www-form-urlencoded", (json) => `payload=${encodeURIComponent(json)}`],
		[
			"multipart/form-data; boundary=xyz",
			(json) => `--xyz\r\nContent-Disposition: form-data; name="p"\r\n\r\n${json}\r\n--xyz--\r\n`,
		],
		["application/xml", (json) => `<callbacks><json>${json}</json></callbacks>`],
		["text/xml; charset=utf-8", (json) => `<?xml version="1.0"?><c>${json}</c>`],
		["text/html", (json) => `<html><body>${json}</body></html>`],
		["image/png", (json) => json],
		["APPLICATION/XML", (json) => json],
	];
	for (const [type, wrap] of notJson) {
		const name = `content-type/${type}`;
		const { id, body } = event(name);
		cases.push({
			name,
			request: callbackRequest(wrap(body), { "content-type": type }),
			expect: rejected(415, "unsupported_media_type"),
			notStored: [id],
		});
	}
	for (const type of [
		"none",
		"text/plain",
		"text/plain; charset=UTF-8",
		"application/cloudevents+json",
		"application/vnd.bandwidth+json",
		"*/*",
	]) {
		const name = `content-type/${type} with a JSON body`;
		const { body } = event(name);
		const request = callbackRequest(body, type === "none" ? {} : { "content-type": type });
		if (type === "none") delete request.headers["content-type"];
		cases.push({ name, request, expect: acceptedBody(body, [STORED]), notStored: [] });
	}
	{
		const name = "content-type/text/plain with prose";
		cases.push({
			name,
			request: callbackRequest("message received, thanks", { "content-type": "text/plain" }),
			expect: rejected(400, "invalid_json"),
			notStored: [],
		});
	}

	const refused: readonly (readonly [string, string | null])[] = [
		["no Authorization header", null],
		["wrong password", basic(`${USER}:not-${PASSWORD}`)],
		["wrong user", basic(`someone:${PASSWORD}`)],
		["password missing its last character", basic(`${USER}:${PASSWORD.slice(0, -1)}`)],
		["password with an extra character", basic(`${USER}:${PASSWORD}x`)],
		["empty user and password", basic(":")],
		["no colon", basic(`${USER}${PASSWORD}`)],
		["scheme only", "Basic"],
		["not base64", "Basic !!!not*base64!!!"],
		["base64 of invalid UTF-8", `Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0xc3]).toString("base64")}`],
		["the admin bearer token", `Bearer ${TEST_ENV.ADMIN_TOKEN}`],
		["Digest scheme", `Digest username="${USER}", realm="bandwidth-relay"`],
		["8 KB of base64", `Basic ${"QUFB".repeat(2048)}`],
	];
	for (const [label, authorization] of refused) {
		const name = `auth/${label}`;
		const { id, body } = event(name);
		const request = callbackRequest(body);
		if (authorization === null) delete request.headers.authorization;
		else request.headers.authorization = authorization;
		cases.push({ name, request, expect: rejected(401, "unauthorized"), notStored: [id] });
	}
	for (const scheme of ["basic", "BASIC"]) {
		// RFC 9110 §11.1: the scheme name is case-insensitive.
		const name = `auth/scheme spelled ${scheme}`;
		const { body } = event(name);
		const request = callbackRequest(body, { authorization: CALLBACK_AUTH.replace("Basic", scheme) });
		cases.push({ name, request, expect: acceptedBody(body, [STORED]), notStored: [] });
	}

	for (const [method, authorized] of [
		["GET", true],
		["GET", false],
		["PUT", true],
		["PATCH", true],
		["DELETE", false],
		["OPTIONS", false],
		["HEAD", true],
	] as const) {
		const name = `method/${method}${authorized ? "" : " without credentials"}`;
		const { id, body } = event(name);
		const withBody = method === "PUT" || method === "PATCH";
		cases.push({
			name,
			request: {
				method,
				path: CALLBACK_PATH,
				headers: authorized ? { authorization: CALLBACK_AUTH, "content-type": "application/json" } : {},
				...(withBody ? { body: bytes(body) } : {}),
			},
			expect: rejected(405, "method_not_allowed"),
			notStored: withBody ? [id] : [],
		});
	}

	const sized = (name: string, size: number, unit?: string) => {
		const element = factory.element("received", name);
		return { id: element.message.id, body: bodyOfSize(element, size, unit) };
	};
	// A body at the cap is accepted; whether its element is stored or quarantined depends on the cap.
	const fateOf = (body: string) => fateBySize((JSON.parse(body) as Record<string, unknown>[])[0] ?? {});
	for (const [label, size, unit] of [
		["one byte under the cap", maxBodyBytes - 1, "x"],
		["exactly the cap", maxBodyBytes, "x"],
		["exactly the cap in 4-byte characters", maxBodyBytes, "😀"],
	] as const) {
		const name = `size/${label}`;
		const { body } = sized(name, size, unit);
		cases.push({ name, request: callbackRequest(body), expect: acceptedBody(body, [fateOf(body)]), notStored: [] });
	}
	for (const [label, size, unit] of [
		["one byte over the cap", maxBodyBytes + 1, "x"],
		["four times the cap", maxBodyBytes * 4, "x"],
		["under the cap in characters, over it in bytes", maxBodyBytes + 3, "é"],
	] as const) {
		const name = `size/${label}`;
		const { id, body } = sized(name, size, unit);
		cases.push({ name, request: callbackRequest(body), expect: rejected(413, "payload_too_large"), notStored: [id] });
	}
	for (const [label, size, fits] of [
		["chunked, exactly the cap", maxBodyBytes, true],
		["chunked, one byte over the cap", maxBodyBytes + 1, false],
		["chunked, four times the cap", maxBodyBytes * 4, false],
	] as const) {
		const name = `size/${label}`;
		const { id, body } = sized(name, size);
		cases.push({
			name,
			request: chunkedRequest(bytes(body), CHUNK_BYTES),
			expect: fits ? acceptedBody(body, [fateOf(body)]) : rejected(413, "payload_too_large"),
			notStored: fits ? [] : [id],
		});
	}
	{
		const name = "size/chunked small batch";
		const { body } = event(name);
		cases.push({ name, request: chunkedRequest(bytes(body), 7), expect: acceptedBody(body, [STORED]), notStored: [] });
	}
	{
		const name = "size/chunked, no chunks at all";
		cases.push({
			name,
			request: chunkedRequest(new Uint8Array(0), 1),
			expect: rejected(400, "invalid_json"),
			notStored: [],
		});
	}

	for (const [label, count, item] of [
		["10,000 nulls", 10_000, "null"],
		["10,000 empty objects", 10_000, "{}"],
		["10,000 numbers where events belong", 10_000, "7"],
		["1,001 nulls", MAX_ELEMENTS + 1, "null"],
	] as const) {
		const body = `[${Array.from({ length: count }, () => item).join(",")}]`;
		cases.push({
			name: `elements/${label}`,
			request: callbackRequest(body),
			expect: rejected(413, "payload_too_large"),
			notStored: [],
		});
	}
	{
		const body = `[${Array.from({ length: MAX_ELEMENTS }, () => "null").join(",")}]`;
		const fates = Array.from({ length: MAX_ELEMENTS }, () => NOT_AN_OBJECT);
		cases.push({
			name: "elements/1,000 nulls",
			request: callbackRequest(body),
			expect: acceptedBody(body, fates),
			notStored: [],
		});
	}
	return cases;
}
