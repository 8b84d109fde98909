import * as v from "valibot";
import { toUtcIso } from "../../bandwidth/timestamp";
import { InvalidParameterError } from "../../http/errors";
import { assertJsonContentType, parseJson } from "../../http/parse-json";
import { readBodyCapped } from "../../http/read-body";

/*
 * Admin input is validated by valibot schemas; the first issue becomes a 400 `invalid_parameter`
 * whose message starts with the parameter's name, so a client can tell which one to fix.
 */

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
/** A thousand event ids (the replay maximum) are about 33 KB. */
const MAX_BODY_BYTES = 128 * 1024;

/** Query objects are strict: a misspelt filter must not silently widen a search. */
export const UNKNOWN_PARAMETER = "unknown parameter";

const LIMIT_MESSAGE = `must be a whole number from 1 to ${MAX_LIMIT}`;
export const LimitParam = v.optional(
	v.pipe(
		v.string(),
		v.regex(/^\d{1,4}$/, LIMIT_MESSAGE),
		v.transform(Number),
		v.minValue(1, LIMIT_MESSAGE),
		v.maxValue(MAX_LIMIT, LIMIT_MESSAGE),
	),
	String(DEFAULT_LIMIT),
);

/** Any RFC 3339 precision or offset in; UTC milliseconds out, which sorts like the stored times. */
export const TimestampParam = v.pipe(
	v.string(),
	v.transform(toUtcIso),
	v.string("must be an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z"),
);

export const TextParam = v.pipe(v.string(), v.nonEmpty("must not be empty"), v.maxLength(256, "is too long"));

export function parseInput<TSchema extends v.GenericSchema>(
	schema: TSchema,
	input: unknown,
	whole: "query" | "body" | "path",
): v.InferOutput<TSchema> {
	const result = v.safeParse(schema, input);
	if (result.success) return result.output;
	const [issue] = result.issues;
	throw new InvalidParameterError(`${v.getDotPath(issue) ?? whole}: ${issue.message}`);
}

export async function readJsonBody<TSchema extends v.GenericSchema>(
	request: Request,
	schema: TSchema,
): Promise<v.InferOutput<TSchema>> {
	assertJsonContentType(request.headers.get("content-type"));
	const body = await readBodyCapped(request, MAX_BODY_BYTES);
	return parseInput(schema, parseJson(body), "body");
}
