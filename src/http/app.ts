import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { errorMessage, log } from "../log";
import { adminRoute } from "../routes/admin/admin.route";
import { healthRoute } from "../routes/health.route";
import { ingestRoute } from "../routes/ingest.route";
import { mediaRoute } from "../routes/media.route";
import type { AppEnv } from "./app-env";
import { HttpError, NotFoundError } from "./errors";

export const app = new Hono<AppEnv>();

// The relay's own address opens the operator console (static assets under /console/).
app.get("/", (c) => c.redirect("/console/", 302));

app.route("/", ingestRoute);
app.route("/", healthRoute);
app.route("/v1", adminRoute);
app.route("/", mediaRoute);

app.notFound(() => new NotFoundError().toResponse());

app.onError((error, c) => {
	if (error instanceof HttpError) {
		if (error.status >= 500)
			log.error("request_failed", { path: c.req.path, code: error.code, message: error.message });
		else log.warn("request_rejected", { path: c.req.path, code: error.code, message: error.message });
		return error.toResponse();
	}
	// Hono's own middleware (basic auth) answers through HTTPException with a ready response.
	if (error instanceof HTTPException) return error.getResponse();
	log.error("request_crashed", { path: c.req.path, error: errorMessage(error), stack: (error as Error).stack });
	return Response.json({ error: { code: "internal_error", message: "unexpected error" } }, { status: 500 });
});
