import { Hono } from "hono";
import * as v from "valibot";
import { listQuarantine, quarantineItemOf, readQuarantineRows } from "../../db/quarantine.repository";
import { countWithin } from "../../db/row-size";
import type { AppEnv } from "../../http/app-env";
import { MethodNotAllowedError, NotFoundError, StorageUnavailableError } from "../../http/errors";
import { reprocessQuarantined } from "../../maintenance/reprocess-quarantined";
import { pageSchema, QuarantineItemSchema } from "../responses";
import { cursorParam, PAGE_MAX_BYTES, pageEndingAt } from "./cursor";
import { LimitParam, parseInput, UNKNOWN_PARAMETER } from "./params";

const QuarantineKeySchema = v.tuple([v.string(), v.pipe(v.string(), v.startsWith("qtn_"))]);

export const QuarantineQuerySchema = v.strictObject(
	{ limit: LimitParam, cursor: v.optional(cursorParam(QuarantineKeySchema)) },
	UNKNOWN_PARAMETER,
);

export const QuarantineParamsSchema = v.object({
	id: v.pipe(v.string(), v.regex(/^qtn_[a-z2-7]{26}$/, "must be a quarantine id (qtn_…)")),
});

export const quarantineRoute = new Hono<AppEnv>()
	.get("/quarantine", async (c) => {
		const query = parseInput(QuarantineQuerySchema, c.req.query(), "query");
		// Sizes first, then only the rows that fit in a page: an element may be 1.8 MB.
		const rows = await listQuarantine(c.env.DB, query.cursor, query.limit + 1);
		const sizes = rows.slice(0, query.limit).map((row) => row.raw_bytes);
		const taken = rows.slice(0, countWithin(sizes, PAGE_MAX_BYTES));
		const whole = await readQuarantineRows(
			c.env.DB,
			taken.map((row) => row.id),
		);
		const items = taken.flatMap((row) => {
			const found = whole.get(row.id);
			return found === undefined ? [] : [quarantineItemOf(found)];
		});
		const last = taken.at(-1);
		return c.json(pageEndingAt(items, last && [last.received_at, last.id], taken.length < rows.length));
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

/** The answer of GET /quarantine, for the OpenAPI document. */
export const QuarantineResponseSchema = pageSchema(QuarantineItemSchema);
