import type * as v from "valibot";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { MessageError } from "../../src/bandwidth/error-codes";
import type { NormalizedEvent } from "../../src/bandwidth/normalize";
import type { Delivery } from "../../src/db/deliveries.repository";
import type { RecipientStatus } from "../../src/db/message-status.repository";
import type { QuarantineItem } from "../../src/db/quarantine.repository";
import type { Stats } from "../../src/db/stats.repository";
import type { ErasureReport } from "../../src/erase/erasure-counts";
import type { ReplayResult } from "../../src/forward/replay";
import { app } from "../../src/http/app";
import type { D1StorageReport } from "../../src/maintenance/enforce-budget";
import type { ReprocessReport } from "../../src/maintenance/reprocess-quarantined";
import type { MeterReading } from "../../src/meter/meter-reading";
import { buildOpenApiDocument } from "../../src/openapi/document";
import { openApiPath } from "../../src/openapi/operation";
import { OPERATIONS } from "../../src/openapi/operations";
import type { ArchiveItem } from "../../src/routes/admin/archive.route";
import type { MeterResponseSchema } from "../../src/routes/admin/meter.route";
import type * as schemas from "../../src/routes/responses";
import type { ReplayResponseSchema, ReprocessResponseSchema, StatsResponseSchema } from "../../src/routes/responses";
import { adminFetch } from "../helpers/admin";
import { operationIn, servedDocument, violations } from "./conformance";

/** "GET /v1/events" for every handler the app holds under /v1 and at /health; the 405 catch-alls (ALL) aside. */
function mountedRoutes(): string[] {
	const routes = app.routes
		.filter((route) => route.method !== "ALL" && (route.path.startsWith("/v1/") || route.path === "/health"))
		.map((route) => `${route.method} ${route.path}`);
	return [...new Set(routes)].sort();
}

describe("GET /v1/openapi.json", () => {
	it("is behind the bearer token like the rest of /v1", async () => {
		expect((await adminFetch("/v1/openapi.json", { token: null })).status).toBe(401);
		const response = await adminFetch("/v1/openapi.json");
		expect(response.status).toBe(200);
		expect(response.headers.get("content-type")).toContain("application/json");
		expect(await response.json()).toMatchObject({
			openapi: "3.1.0",
			security: [{ bearerAuth: [] }],
			components: { securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } } },
		});
		expect((await adminFetch("/v1/openapi.json", { method: "POST" })).status).toBe(405);
	});

	it("documents every route mounted under /v1, and /health, and nothing else", async () => {
		const documented = OPERATIONS.map((operation) => `${operation.method.toUpperCase()} ${operation.path}`).sort();
		expect(documented).toEqual(mountedRoutes());
		const document = await servedDocument();
		for (const operation of OPERATIONS) {
			expect(operationIn(document, operation.method, operation.path).operationId).toBe(operation.operationId);
		}
		expect(Object.keys(document.paths).sort()).toEqual(
			[...new Set(OPERATIONS.map((op) => openApiPath(op.path)))].sort(),
		);
	});

	it("leaves only /health public", async () => {
		const document = await servedDocument();
		expect(operationIn(document, "get", "/health").security).toEqual([]);
		for (const operation of OPERATIONS.filter((candidate) => candidate.path !== "/health")) {
			expect(operationIn(document, operation.method, operation.path).security).toBeUndefined();
			expect(Object.keys(operationIn(document, operation.method, operation.path).responses)).toContain("401");
			expect(Object.keys(operationIn(document, operation.method, operation.path).responses)).toContain("429");
		}
	});

	it("writes path parameters as OpenAPI templates, every one of them declared", async () => {
		expect(openApiPath("/v1/messages/:messageId")).toBe("/v1/messages/{messageId}");
		expect(openApiPath("/v1/archive/:key{.+}")).toBe("/v1/archive/{key}");
		expect(openApiPath("/v1/quarantine/:id/reprocess")).toBe("/v1/quarantine/{id}/reprocess");
		const document = await servedDocument();
		for (const [path, item] of Object.entries(document.paths)) {
			const templated = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();
			for (const operation of Object.values(item)) {
				const inPath = (operation.parameters ?? []).filter((parameter) => parameter.in === "path");
				expect(inPath.map((parameter) => parameter.name).sort(), path).toEqual(templated);
				expect(inPath.every((parameter) => parameter.required)).toBe(true);
			}
		}
	});
});

describe("the document is generated from the routes' own schemas", () => {
	it("describes query parameters as sent: strings, with the routes' patterns, enums and defaults", async () => {
		const document = await servedDocument();
		const parameters = operationIn(document, "get", "/v1/deliveries").parameters ?? [];
		const byName = Object.fromEntries(parameters.map((parameter) => [parameter.name, parameter]));
		expect(Object.keys(byName).sort()).toEqual(["current", "cursor", "destination", "eventId", "limit", "status"]);
		expect(byName.status).toMatchObject({
			required: false,
			schema: { enum: ["delivered", "failed", "dead", "skipped", "replayed"] },
		});
		expect(byName.limit).toMatchObject({
			required: false,
			schema: { type: "string", pattern: "^\\d{1,4}$", default: "50" },
		});
		const archive = operationIn(document, "get", "/v1/archive").parameters ?? [];
		expect(archive.find((parameter) => parameter.name === "date")?.required).toBe(true);
		const events = operationIn(document, "get", "/v1/events").parameters ?? [];
		expect(events.map((parameter) => parameter.name).sort()).toEqual(
			[
				"cursor",
				"direction",
				"eventId",
				"from",
				"limit",
				"messageId",
				"number",
				"order",
				"since",
				"to",
				"type",
				"until",
			].sort(),
		);
		const status = operationIn(document, "get", "/v1/deliveries/status").parameters ?? [];
		expect(status.map((parameter) => [parameter.name, parameter.required])).toEqual([
			["eventIds", true],
			["messageIds", false],
		]);
	});

	it("accepts the bodies the routes accept and refuses the ones they refuse", async () => {
		const document = await servedDocument();
		const replay = operationIn(document, "post", "/v1/replay").requestBody?.content["application/json"]?.schema;
		const erase = operationIn(document, "post", "/v1/erase").requestBody?.content["application/json"]?.schema;
		if (replay === undefined || erase === undefined) throw new Error("no request body");
		for (const body of [
			{ eventIds: ["evt_a"] },
			{ messageId: "m" },
			{ since: "2026-11-01T00:00:00Z" },
			{ since: "2026-11-01T00:00:00Z", until: "2026-11-02T00:00:00Z" },
			{ dead: true },
		]) {
			expect(violations(document, replay, body), JSON.stringify(body)).toEqual([]);
		}
		for (const body of [{}, { eventIds: [] }, { eventIds: ["a"] }, { dead: false }, { dead: true, messageId: "m" }]) {
			expect(violations(document, replay, body), JSON.stringify(body)).not.toEqual([]);
		}
		expect(violations(document, erase, { phoneNumber: "+15551234567" })).toEqual([]);
		expect(violations(document, erase, { phoneNumber: "5551234567" })).not.toEqual([]);
		expect(violations(document, erase, { phoneNumber: "+15551234567", extra: 1 })).not.toEqual([]);
	});

	it("names the shared answers as components and refers to them", async () => {
		const document = await servedDocument();
		expect(Object.keys(document.components.schemas).sort()).toEqual([
			"ArchiveItem",
			"CloudEvent",
			"D1Storage",
			"Delivery",
			"DeliveryState",
			"DestinationStatus",
			"ErasureReport",
			"Error",
			"QuarantineItem",
			"RecipientStatus",
		]);
		const deliveries = operationIn(document, "get", "/v1/deliveries").responses["200"]?.content?.["application/json"];
		expect(deliveries?.schema).toMatchObject({
			properties: { items: { items: { $ref: "#/components/schemas/Delivery" } } },
		});
		expect(operationIn(document, "get", "/v1/events").responses["401"]?.content?.["application/json"]?.schema).toEqual({
			$ref: "#/components/schemas/Error",
		});
	});

	it("refuses answers that are not what it declares, through its $refs", async () => {
		const document = await servedDocument();
		const schema = operationIn(document, "get", "/v1/deliveries").responses["200"]?.content?.["application/json"]
			?.schema;
		if (schema === undefined) throw new Error("no schema");
		const delivery = {
			id: 1,
			eventId: "evt_a",
			destination: "default",
			attempt: 1,
			outcome: "dead",
			httpStatus: 410,
			error: "HTTP 410: gone",
			durationMs: 12,
			at: "2026-12-01T00:00:00.000Z",
			nextAttemptAt: null,
		};
		expect(violations(document, schema, { items: [delivery], nextCursor: null })).toEqual([]);
		// A first try has no row id.
		expect(violations(document, schema, { items: [{ ...delivery, id: null }], nextCursor: null })).toEqual([]);
		for (const wrong of [
			{ items: [{ ...delivery, outcome: "lost" }], nextCursor: null },
			{ items: [{ ...delivery, attempt: "1" }], nextCursor: null },
			{ items: [{ ...delivery, undocumented: true }], nextCursor: null },
			{ items: [delivery] },
		]) {
			expect(violations(document, schema, wrong), JSON.stringify(wrong)).not.toEqual([]);
		}
	});

	it("is the same document the route serves", async () => {
		expect(await servedDocument()).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
	});

	it("has response schemas that the answers' own types fit", () => {
		expectTypeOf<Delivery>().toExtend<v.InferInput<typeof schemas.DeliverySchema>>();
		expectTypeOf<NormalizedEvent>().toExtend<v.InferInput<typeof schemas.CloudEventSchema>>();
		expectTypeOf<MessageError>().toExtend<
			NonNullable<v.InferInput<typeof schemas.CloudEventSchema>["data"]["error"]>
		>();
		expectTypeOf<RecipientStatus>().toExtend<v.InferInput<typeof schemas.RecipientStatusSchema>>();
		expectTypeOf<QuarantineItem>().toExtend<v.InferInput<typeof schemas.QuarantineItemSchema>>();
		expectTypeOf<ArchiveItem>().toExtend<v.InferInput<typeof schemas.ArchiveItemSchema>>();
		expectTypeOf<D1StorageReport>().toExtend<v.InferInput<typeof schemas.D1StorageSchema>>();
		expectTypeOf<ErasureReport>().toExtend<v.InferInput<typeof schemas.ErasureReportSchema>>();
		expectTypeOf<ReprocessReport>().toExtend<v.InferInput<typeof ReprocessResponseSchema>>();
		expectTypeOf<ReplayResult>().toExtend<v.InferInput<typeof ReplayResponseSchema>>();
		expectTypeOf<Stats & { storage: { d1: D1StorageReport } }>().toExtend<v.InferInput<typeof StatsResponseSchema>>();
		expectTypeOf<MeterReading>().toExtend<v.InferInput<typeof MeterResponseSchema>>();
	});
});
