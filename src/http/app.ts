import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { errorMessage, log } from "../log";
import { adminRoute } from "../routes/admin/admin.route";
import { healthRoute } from "../routes/health.route";
import { ingestRoute } from "../routes/ingest.route";
import { mediaRoute } from "../routes/media.route";
import type { AppEnv } from "./app-env";
import { HttpError, NotFoundError } from "./errors";
import { loggedPath } from "./logged-path";
import { logRejection } from "./rejection-log";

export const app = new Hono<AppEnv>();

// The relay's own address opens the operator console (static assets under /console/).
app.get("/", (c) => c.redirect("/console/", 302));

app.route("/", ingestRoute);
app.route("/", healthRoute);
app.route("/v1", adminRoute);
app.route("/", mediaRoute);

function rejected(error: HttpError, c: Context<AppEnv>): Response {
	logRejection(error, c.req.path, c.get("authenticated") === true);
	return error.toResponse();
}

app.notFound((c) => rejected(new NotFoundError(), c));

app.onError((error, c) => {
	if (error instanceof HttpError) return rejected(error, c);
	// Hono's own middleware (basic auth) answers through HTTPException with a ready response.
	if (error instanceof HTTPException) return error.getResponse();
	const path = loggedPath(c.req.path);
	log.error("request_crashed", { ...path, error: errorMessage(error), stack: (error as Error).stack });
	return Response.json({ error: { code: "internal_error", message: "unexpected error" } }, { status: 500 });
});
