import { Hono } from "hono";
import type { AppEnv } from "../../http/app-env";
import { MethodNotAllowedError } from "../../http/errors";
import { openApiDocument } from "../../openapi/document";

/** The admin API's OpenAPI 3.1 document, behind the same bearer token as the API it describes. */
export const openApiRoute = new Hono<AppEnv>()
	.get("/openapi.json", (c) => c.json(openApiDocument()))
	.all("/openapi.json", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	});
