import { type ConversionConfig, type JsonSchema, toJsonSchema, toJsonSchemaDefs } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { NAMED_SCHEMAS } from "../routes/responses";
import { RELAY_VERSION } from "../version";
import { errors, type Operation, openApiPath, type ParametersSchema, type ResponseSpec } from "./operation";
import { OPERATIONS } from "./operations";

/*
 * The admin API's OpenAPI 3.1 document, generated from the valibot schemas the routes validate
 * with (src/openapi/operations.ts lists them) and those of their answers. Inputs are described as
 * the client sends them (`typeMode: "input"`: a query parameter is the string before the route
 * turns it into a number), and the schemas shared by several answers are named components.
 */

const COMPONENTS = "#/components/schemas/";

const CONVERSION: ConversionConfig = {
	target: "draft-2020-12",
	typeMode: "input",
	definitions: NAMED_SCHEMAS,
	overrideRef: ({ referenceId }) => `${COMPONENTS}${referenceId}`,
	// A `check` is a predicate JSON Schema cannot state (a calendar date, a decodable cursor, a
	// window bound); the route still enforces it, and its 400 says which parameter failed.
	ignoreActions: ["check"],
};

/** One schema in the document: the definitions and the dialect are stated once, at the top. */
function jsonSchemaOf(schema: v.GenericSchema): JsonSchema {
	const { $schema: _dialect, $defs: _definitions, ...rest } = toJsonSchema(schema, CONVERSION);
	return rest;
}

function parametersOf(where: "path" | "query", schema: ParametersSchema, required: readonly string[] = []) {
	return Object.entries(schema.entries).map(([name, entry]) => {
		const optional = entry.type === "optional" || entry.type === "exact_optional" || entry.type === "nullish";
		return {
			name,
			in: where,
			required: where === "path" || !optional || required.includes(name),
			schema: jsonSchemaOf(entry),
		};
	});
}

function responseOf(spec: ResponseSpec) {
	if (spec.gzip) {
		return {
			description: spec.description,
			content: { "application/gzip": { schema: { type: "string", contentMediaType: "application/gzip" } } },
		};
	}
	return {
		description: spec.description,
		...(spec.schema === undefined ? {} : { content: { "application/json": { schema: jsonSchemaOf(spec.schema) } } }),
	};
}

function operationOf(operation: Operation) {
	const parameters = [
		...(operation.params ? parametersOf("path", operation.params) : []),
		...(operation.query ? parametersOf("query", operation.query, operation.requiredQuery) : []),
	];
	return {
		operationId: operation.operationId,
		summary: operation.summary,
		...(operation.description === undefined ? {} : { description: operation.description }),
		...(operation.auth ? {} : { security: [] }),
		...(parameters.length === 0 ? {} : { parameters }),
		...(operation.body === undefined
			? {}
			: {
					requestBody: {
						required: true,
						content: { "application/json": { schema: jsonSchemaOf(operation.body) } },
					},
				}),
		responses: Object.fromEntries(
			// Every bearer route can answer 429 to an address that sent too many wrong tokens.
			Object.entries({ ...operation.responses, ...(operation.auth ? errors(429) : {}) }).map(([status, spec]) => [
				status,
				responseOf(spec),
			]),
		),
	};
}

export function buildOpenApiDocument(operations: readonly Operation[] = OPERATIONS) {
	const paths: Record<string, Record<string, ReturnType<typeof operationOf>>> = {};
	for (const operation of operations) {
		const path = openApiPath(operation.path);
		paths[path] = { ...paths[path], [operation.method]: operationOf(operation) };
	}
	const { definitions: _named, ...config } = CONVERSION;
	return {
		openapi: "3.1.0",
		jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
		info: {
			title: "bandwidth-relay admin API",
			version: RELAY_VERSION,
			description:
				"Lists answer `{items, nextCursor}`; pass `nextCursor` back as `cursor`. Errors answer `{error: {code, message}}`.",
		},
		// Relative: the relay this document was fetched from, whatever its hostname.
		servers: [{ url: "/" }],
		security: [{ bearerAuth: [] }],
		paths,
		components: {
			securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN" } },
			schemas: toJsonSchemaDefs(NAMED_SCHEMAS, config),
		},
	};
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;

let cached: OpenApiDocument | undefined;

/** Built once per isolate, on the first request for it: the schemas do not change while it runs. */
export function openApiDocument(): OpenApiDocument {
	cached ??= buildOpenApiDocument();
	return cached;
}
