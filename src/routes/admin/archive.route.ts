import { Hono } from "hono";
import * as v from "valibot";
import { ARCHIVE_ROOT, dayPrefix } from "../../archive/archive-prefixes";
import type { AppEnv } from "../../http/app-env";
import {
	ArchiveNotConfiguredError,
	InvalidParameterError,
	MethodNotAllowedError,
	NotFoundError,
} from "../../http/errors";
import { ArchiveItemSchema, pageSchema } from "../responses";
import { LimitParam, parseInput, UNKNOWN_PARAMETER } from "./params";

/*
 * History beyond D1: the objects the ledgers wrote to R2 (gzip NDJSON, one CloudEvent a line, one
 * folder per UTC hour of receipt). The list reads only R2's listing; the objects stream through.
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar day: 2026-02-30 matches the pattern but is no prefix any object has. */
function isCalendarDate(value: string): boolean {
	const match = DATE.exec(value);
	if (match === null) return false;
	const [, year, month, day] = match.map(Number);
	const date = new Date(Date.UTC(year ?? 0, (month ?? 0) - 1, day ?? 0));
	return date.getUTCFullYear() === year && date.getUTCMonth() + 1 === month && date.getUTCDate() === day;
}

const DATE_EXAMPLE = "e.g. 2026-12-01";
const DateParam = v.pipe(v.string(), v.check(isCalendarDate, `must be a UTC date, ${DATE_EXAMPLE}`));

/** R2's own list cursor, passed through: opaque here as it is to the client. */
const R2CursorParam = v.pipe(v.string(), v.nonEmpty("must not be empty"), v.maxLength(4096, "is too long"));

/** `date` is checked for presence by the route: a strict object reports a missing key with its unknown-key message. */
export const ArchiveListQuerySchema = v.strictObject(
	{ date: v.optional(DateParam), limit: LimitParam, cursor: v.optional(R2CursorParam) },
	UNKNOWN_PARAMETER,
);

/** R2 allows 1,024 bytes a key; `..` is refused so no key can look like a path that climbs out of events/. */
const ArchiveKeySchema = v.pipe(
	v.string(),
	v.startsWith(ARCHIVE_ROOT, `must start with ${ARCHIVE_ROOT}`),
	v.check((key) => !key.includes(".."), "must not contain .."),
	v.maxLength(1024, "is too long"),
);

export const ArchiveParamsSchema = v.object({ key: ArchiveKeySchema });

const CountSchema = v.pipe(v.string(), v.regex(/^\d+$/), v.transform(Number));
/** The counts the writer stores with each object (ArchiveObjectMeta); null when an object lacks them. */
const ObjectCountsSchema = v.object({ events: CountSchema, bytes: CountSchema });

export interface ArchiveItem {
	key: string;
	/** CloudEvents in the object. */
	events: number | null;
	/** Uncompressed NDJSON bytes. */
	bytes: number | null;
	/** Stored (gzip) bytes. */
	size: number;
	uploaded: string;
}

function itemOf(object: R2Object): ArchiveItem {
	const counts = v.safeParse(ObjectCountsSchema, object.customMetadata ?? {});
	return {
		key: object.key,
		events: counts.success ? counts.output.events : null,
		bytes: counts.success ? counts.output.bytes : null,
		size: object.size,
		uploaded: object.uploaded.toISOString(),
	};
}

/** The object as stored: gzip NDJSON is served as the file it is, not re-encoded for transfer. */
function headersOf(object: R2Object): Record<string, string> {
	return {
		"content-type": object.httpMetadata?.contentType ?? "application/octet-stream",
		"content-length": String(object.size),
		etag: object.httpEtag,
	};
}

/** The binding is optional: a deployment without an archive keeps its history in D1 only. */
function archiveOf(env: Partial<Pick<Env, "ARCHIVE">>): R2Bucket {
	if (env.ARCHIVE === undefined) throw new ArchiveNotConfiguredError();
	return env.ARCHIVE;
}

export const archiveRoute = new Hono<AppEnv>()
	.get("/archive", async (c) => {
		const archive = archiveOf(c.env);
		const query = parseInput(ArchiveListQuerySchema, c.req.query(), "query");
		if (query.date === undefined) throw new InvalidParameterError(`date: is required, ${DATE_EXAMPLE}`);
		const listed = await archive.list({
			prefix: dayPrefix(query.date),
			limit: query.limit,
			include: ["customMetadata"],
			...(query.cursor === undefined ? {} : { cursor: query.cursor }),
		});
		// With `include`, R2 may return fewer objects than the limit and still have more: `truncated` decides.
		return c.json({ items: listed.objects.map(itemOf), nextCursor: listed.truncated ? listed.cursor : null });
	})
	.all("/archive", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	})
	.get("/archive/:key{.+}", async (c) => {
		const archive = archiveOf(c.env);
		const { key } = parseInput(ArchiveParamsSchema, c.req.param(), "path");
		if (c.req.method === "HEAD") {
			// The metadata alone: no body is fetched only to be dropped.
			const object = await archive.head(key);
			if (object === null) throw new NotFoundError("no archive object has this key");
			return new Response(null, { headers: headersOf(object) });
		}
		const object = await archive.get(key);
		if (object === null) throw new NotFoundError("no archive object has this key");
		return new Response(object.body, { headers: headersOf(object) });
	})
	.all("/archive/:key{.+}", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	});

/** The answer of GET /archive, for the OpenAPI document. */
export const ArchiveListResponseSchema = pageSchema(ArchiveItemSchema);
