import { Hono } from "hono";
import * as v from "valibot";
import { listQuarantine, quarantineItemOf } from "../../db/quarantine.repository";
import type { AppEnv } from "../../http/app-env";
import { MethodNotAllowedError, NotFoundError, StorageUnavailableError } from "../../http/errors";
import { reprocessQuarantined } from "../../maintenance/reprocess-quarantined";
import { cursorParam, pageOf } from "./cursor";
import { LimitParam, parseInput, UNKNOWN_PARAMETER } from "./params";

const QuarantineKeySchema = v.tuple([v.string(), v.pipe(v.string(), v.startsWith("qtn_"))]);

const QuarantineQuerySchema = v.strictObject(
	{ limit: LimitParam, cursor: v.optional(cursorParam(QuarantineKeySchema)) },
	UNKNOWN_PARAMETER,
);

const QuarantineParamsSchema = v.object({
	id: v.pipe(v.string(), v.regex(/^qtn_[a-z2-7]{26}$/, "must be a quarantine id (qtn_…)")),
});

export const quarantineRoute = new Hono<AppEnv>()
	.get("/quarantine", async (c) => {
		const query = parseInput(QuarantineQuerySchema, c.req.query(), "query");
		const rows = await listQuarantine(c.env.DB, query.cursor, query.limit + 1);
		return c.json(pageOf(rows, query.limit, (row) => [row.received_at, row.id], quarantineItemOf));
	})
	.all("/quarantine", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	})
	.post("/quarantine/:id/reprocess", async (c) => {
		const { id } = parseInput(QuarantineParamsSchema, c.req.param(), "path");
		const result = await reprocessQuarantined(c.env, id, new Date().toISOString());
		if (result.ok) return c.json(result.value);
		switch (result.reason) {
			case "not_found":
				throw new NotFoundError("no quarantined element has this id");
			case "storage_unavailable":
				throw new StorageUnavailableError();
		}
	})
	.all("/quarantine/:id/reprocess", () => {
		throw new MethodNotAllowedError(["POST"]);
	});
