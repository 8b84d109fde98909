import { type Schema, Validator } from "@cfworker/json-schema";
import { expect } from "vitest";
import { openApiPath } from "../../src/openapi/operation";
import { adminFetch } from "../helpers/admin";

/*
 * Checks answers against the document the relay serves, as a client generated from it would see
 * them. @cfworker/json-schema rather than ajv: ajv compiles validators with `new Function`, which
 * workerd forbids.
 */

type MediaType = { schema: Schema };
type ResponseObject = { description: string; content?: Record<string, MediaType> };
type OperationObject = {
	operationId: string;
	security?: unknown[];
	parameters?: Array<{ name: string; in: string; required: boolean; schema: Schema }>;
	requestBody?: { content: Record<string, MediaType> };
	responses: Record<string, ResponseObject>;
};
export type Document = {
	openapi: string;
	paths: Record<string, Record<string, OperationObject>>;
	components: { schemas: Record<string, Schema> };
};

let served: Document | undefined;

/** The document as GET /v1/openapi.json serves it. */
export async function servedDocument(): Promise<Document> {
	if (served === undefined) {
		const response = await adminFetch("/v1/openapi.json");
		expect(response.status).toBe(200);
		served = await response.json<Document>();
	}
	return structuredClone(served);
}

export function operationIn(document: Document, method: string, path: string): OperationObject {
	const operation = document.paths[openApiPath(path)]?.[method.toLowerCase()];
	if (operation === undefined) throw new Error(`the document has no ${method} ${openApiPath(path)}`);
	return operation;
}

/** The messages of every way `value` fails `schema`; the document's components resolve `$ref`s. */
export function violations(document: Document, schema: Schema, value: unknown): string[] {
	// The components ride along in the root, where `#/components/schemas/…` points.
	const root = { ...structuredClone(schema), components: document.components } as Schema;
	const result = new Validator(root, "2020-12", false).validate(value);
	return result.errors.map((error) => `${error.instanceLocation}: ${error.error}`);
}

/** "GET /v1/events 200" for each answer checked so far. */
export const checked = new Set<string>();

/**
 * Asserts that the document declares `response`'s status for this operation, and that its body
 * is what the document says; returns the parsed JSON body (undefined for a gzip object).
 */
export async function expectConforms(response: Response, method: string, path: string): Promise<unknown> {
	const document = await servedDocument();
	const declared = operationIn(document, method, path).responses[String(response.status)];
	const content = declared?.content ?? {};
	const contentType = response.headers.get("content-type") ?? "";
	checked.add(`${method} ${path} ${response.status}`);
	if (content["application/gzip"] !== undefined) {
		expect(contentType).toBe("application/gzip");
		await response.body?.cancel();
		return undefined;
	}
	const text = await response.text();
	expect(
		declared,
		`${method} ${path} answered ${response.status}, which the document does not declare: ${text}`,
	).toBeDefined();
	const json = content["application/json"];
	if (json === undefined) throw new Error(`${method} ${path} ${response.status} declares no JSON body`);
	expect(contentType).toContain("application/json");
	const body: unknown = JSON.parse(text);
	expect(
		violations(document, json.schema, body),
		`${method} ${path} ${response.status}: ${text.slice(0, 2000)}`,
	).toEqual([]);
	return body;
}
