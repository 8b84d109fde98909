import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import type { ArchiveItem } from "../../src/routes/admin/archive.route";
import { adminFetch, adminGet, RELAY_URL } from "../helpers/admin";
import { clearArchive, putArchiveObject } from "../helpers/archive-objects";
import { expectError } from "../helpers/http";

type ArchivePage = { items: ArchiveItem[]; nextCursor: string | null };

const HOUR_04 = "events/2026/12/01/04/ledger-a-000.ndjson.gz";
const HOUR_04_B = "events/2026/12/01/04/ledger-b-000.ndjson.gz";
const HOUR_05 = "events/2026/12/01/05/ledger-a-000.ndjson.gz";
const NEXT_DAY = "events/2026/12/02/00/ledger-a-000.ndjson.gz";

const cloudEvent = (n: number) => ({ specversion: "1.0", id: `evt_${n}`, type: "bandwidth.message.delivered" });

/** The Worker as deployed without an R2 bucket bound as ARCHIVE. */
async function fetchWithoutArchive(path: string): Promise<Response> {
	const request = new Request(`${RELAY_URL}${path}`, { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } });
	return await worker.fetch(request, { ...env, ARCHIVE: undefined } as unknown as Env, createExecutionContext());
}

async function gunzip(response: Response): Promise<string> {
	if (response.body === null) throw new Error("no body");
	return new Response(response.body.pipeThrough(new DecompressionStream("gzip"))).text();
}

let objects: Record<string, { text: string; size: number }> = {};

beforeEach(async () => {
	await clearArchive();
	objects = {};
	for (const [key, count] of [
		[HOUR_05, 1],
		[HOUR_04, 3],
		[HOUR_04_B, 2],
		[NEXT_DAY, 1],
	] as const) {
		objects[key] = await putArchiveObject(
			key,
			Array.from({ length: count }, (_, i) => cloudEvent(i)),
		);
	}
});

describe("GET /v1/archive?date=", () => {
	it("lists the day's objects in key order with their event counts and sizes", async () => {
		const page: ArchivePage = await adminGet("/v1/archive?date=2026-12-01");
		expect(page.nextCursor).toBeNull();
		expect(page.items).toEqual(
			[
				[HOUR_04, 3],
				[HOUR_04_B, 2],
				[HOUR_05, 1],
			].map(([key, events]) => ({
				key,
				events,
				bytes: new TextEncoder().encode(objects[key as string]?.text).byteLength,
				size: objects[key as string]?.size,
				uploaded: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
			})),
		);
	});

	it("pages with R2's cursor", async () => {
		const first: ArchivePage = await adminGet("/v1/archive?date=2026-12-01&limit=2");
		expect(first.items.map((item) => item.key)).toEqual([HOUR_04, HOUR_04_B]);
		expect(first.nextCursor).toEqual(expect.any(String));
		const second: ArchivePage = await adminGet(
			`/v1/archive?date=2026-12-01&limit=2&cursor=${encodeURIComponent(first.nextCursor ?? "")}`,
		);
		expect(second).toEqual({ items: [expect.objectContaining({ key: HOUR_05 })], nextCursor: null });
	});

	it("answers an empty list for a day with no objects, and null counts for an object without them", async () => {
		expect(await adminGet("/v1/archive?date=2026-11-30")).toEqual({ items: [], nextCursor: null });
		await putArchiveObject("events/2026/11/30/12/manual.ndjson.gz", [cloudEvent(1)], { counts: false });
		const page: ArchivePage = await adminGet("/v1/archive?date=2026-11-30");
		expect(page.items).toEqual([expect.objectContaining({ events: null, bytes: null })]);
	});

	it.each([
		["date=2026-02-30", "date"],
		["date=20261201", "date"],
		["date=2026-12-01T00:00:00Z", "date"],
		["date=2026-12-01&limit=0", "limit"],
		["date=2026-12-01&cursor=", "cursor"],
		["date=2026-12-01&prefix=events/", "prefix"],
	])("rejects %s naming the parameter", async (query, name) => {
		const message = await expectError(await adminFetch(`/v1/archive?${query}`), 400, "invalid_parameter");
		expect(message.startsWith(`${name}: `)).toBe(true);
	});

	it("asks for the date when it is missing", async () => {
		const message = await expectError(await adminFetch("/v1/archive"), 400, "invalid_parameter");
		expect(message).toBe("date: is required, e.g. 2026-12-01");
	});
});

describe("GET /v1/archive/<key>", () => {
	it("streams the object as stored: gzip NDJSON, one CloudEvent a line", async () => {
		const response = await adminFetch(`/v1/archive/${HOUR_04}`);
		expect(response.status).toBe(200);
		expect(response.headers.get("content-type")).toBe("application/gzip");
		expect(response.headers.get("content-length")).toBe(String(objects[HOUR_04]?.size));
		expect(response.headers.get("etag")).toEqual(expect.any(String));
		const lines = (await gunzip(response)).trimEnd().split("\n");
		expect(lines.map((line) => JSON.parse(line))).toEqual([cloudEvent(0), cloudEvent(1), cloudEvent(2)]);
	});

	it("answers HEAD with the headers only", async () => {
		const response = await adminFetch(`/v1/archive/${HOUR_05}`, { method: "HEAD" });
		expect(response.status).toBe(200);
		expect(response.headers.get("content-length")).toBe(String(objects[HOUR_05]?.size));
		expect(await response.text()).toBe("");
	});

	it("answers 404 for a key that holds no object", async () => {
		await expectError(await adminFetch("/v1/archive/events/2026/12/01/06/none.ndjson.gz"), 404, "not_found");
	});

	it.each([
		["/v1/archive/exports/2026/12/01/04/a.ndjson.gz", "must start with events/"],
		["/v1/archive/events/2026/12/01/04/..%2F..%2Fsecret", "must not contain .."],
		["/v1/archive/events/2026/..x", "must not contain .."],
		[`/v1/archive/events/${"a".repeat(1100)}`, "is too long"],
	])("rejects the key %s", async (path, reason) => {
		const message = await expectError(await adminFetch(path), 400, "invalid_parameter");
		expect(message).toBe(`key: ${reason}`);
	});

	it("answers other methods with 405", async () => {
		const response = await adminFetch(`/v1/archive/${HOUR_04}`, { method: "DELETE" });
		await expectError(response, 405, "method_not_allowed");
		expect(response.headers.get("allow")).toBe("GET, HEAD");
	});
});

describe("the archive routes", () => {
	it("answer 404 archive_not_configured when no bucket is bound", async () => {
		await expectError(await fetchWithoutArchive("/v1/archive?date=2026-12-01"), 404, "archive_not_configured");
		await expectError(await fetchWithoutArchive(`/v1/archive/${HOUR_04}`), 404, "archive_not_configured");
	});

	it("require the admin token", async () => {
		const response = await adminFetch("/v1/archive?date=2026-12-01", { token: null });
		await expectError(response, 401, "unauthorized");
		await expectError(await adminFetch(`/v1/archive/${HOUR_04}`, { token: "wrong" }), 401, "unauthorized");
	});
});
