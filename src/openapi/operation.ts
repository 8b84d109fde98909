import * as v from "valibot";
import { ErrorBodySchema } from "../routes/responses";

/*
 * What one documented route is (src/openapi/operations.ts lists them; src/openapi/document.ts
 * turns them into the OpenAPI document), and the shared pieces its entries are built from.
 */

/** An object schema whose entries become parameters, one each. */
export type ParametersSchema = v.GenericSchema & { readonly entries: v.ObjectEntries };

export interface ResponseSpec {
	description: string;
	/** JSON body; absent for `gzip`. */
	schema?: v.GenericSchema;
	/** The body is a stored archive object, served as is. */
	gzip?: true;
}

export interface Operation {
	method: "get" | "post" | "delete";
	/** As mounted in Hono (`:name`, `:name{regex}`). */
	path: string;
	operationId: string;
	summary: string;
	description?: string;
	/** False for the one public route, /health. */
	auth: boolean;
	params?: ParametersSchema;
	query?: ParametersSchema;
	/** Query parameters the route requires itself, though its schema has them optional. */
	requiredQuery?: readonly string[];
	body?: v.GenericSchema;
	responses: Record<number, ResponseSpec>;
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
	400: "`invalid_parameter`, its message starting with the parameter's name; `invalid_json` for a body that is not JSON",
	401: "`unauthorized`: no bearer token, or a wrong one",
	404: "`not_found`",
	409: "`replay_in_progress`",
	413: "`payload_too_large`",
	415: "`unsupported_media_type`",
	429: "`rate_limited`: too many wrong tokens from this address; wait `Retry-After` seconds",
	500: "`storage_unavailable`",
	503: "the work could not finish; the call is safe to repeat",
};

export function errors(...statuses: number[]): Record<number, ResponseSpec> {
	return Object.fromEntries(
		statuses.map((status) => [status, { description: ERROR_DESCRIPTIONS[status] ?? "error", schema: ErrorBodySchema }]),
	);
}

/** The document describes itself loosely: its own shape is OpenAPI's. */
export const OpenApiDocumentSchema = v.looseObject({
	openapi: v.string(),
	info: v.looseObject({ title: v.string(), version: v.string() }),
	paths: v.record(v.string(), v.looseObject({})),
});

/** `/v1/messages/:messageId` → `/v1/messages/{messageId}`; a `{regex}` constraint is dropped. */
export function openApiPath(path: string): string {
	return path.replace(/:(\w+)(\{[^/]*\})?/g, "{$1}");
}
