import { Hono } from "hono";
import * as v from "valibot";
import { type ErasureEnv, eraseMessage } from "../../erase/erase-message";
import { erasePhoneNumber } from "../../erase/erase-phone-number";
import type { ErasureResult } from "../../erase/erasure-counts";
import { erasureCursorParam } from "../../erase/erasure-cursor";
import { type ErasureKind, erasureSubject } from "../../erase/erasure-subject";
import type { AppEnv } from "../../http/app-env";
import { InvalidParameterError, MethodNotAllowedError, ServiceUnavailableError } from "../../http/errors";
import { errorMessage, log } from "../../log";
import { ErasureReportSchema } from "../responses";
import { parseInput, readJsonBody, UNKNOWN_PARAMETER } from "./params";

/*
 * Erasure on request (personal data: GDPR, CCPA). README "Erasure" says what goes and what the
 * bounds are; src/erase does it. Mounted before messagesRoute, whose catch-all answers 405 to
 * every method on /messages/:id but GET.
 */

/** Bandwidth's identifiers are at most 128 characters (the callback validator's own bound). */
export const EraseMessageParamsSchema = v.object({
	messageId: v.pipe(v.string(), v.nonEmpty("must not be empty"), v.maxLength(128, "is too long")),
});

export const EraseMessageQuerySchema = v.strictObject(
	{ cursor: v.optional(erasureCursorParam("message")) },
	UNKNOWN_PARAMETER,
);

/** E.164: the form Bandwidth sends numbers in, and the form they are stored in. */
const PhoneNumberSchema = v.pipe(
	v.string("must be a string"),
	v.regex(/^\+[1-9]\d{1,14}$/, "must be an E.164 number, e.g. +15551234567"),
);

export const ErasePhoneNumberBodySchema = v.strictObject(
	{ phoneNumber: PhoneNumberSchema, cursor: v.optional(erasureCursorParam("phone_number")) },
	UNKNOWN_PARAMETER,
);

async function answer(
	env: ErasureEnv,
	kind: ErasureKind,
	subjectValue: string,
	erase: () => Promise<ErasureResult>,
): Promise<Response> {
	let result: ErasureResult;
	try {
		result = await erase();
	} catch (error) {
		// What was removed before the failure stays removed; the call is safe to repeat.
		const subject = await erasureSubject(env, kind, subjectValue);
		log.error("erasure_failed", { kind, subject, error: errorMessage(error) });
		throw new ServiceUnavailableError("erasure_failed", "the erasure could not finish; retry later");
	}
	if (!result.ok) throw new InvalidParameterError("cursor: belongs to another erasure");
	return Response.json(result.value);
}

export const eraseRoute = new Hono<AppEnv>()
	.delete("/messages/:messageId", async (c) => {
		const { messageId } = parseInput(EraseMessageParamsSchema, c.req.param(), "path");
		const { cursor } = parseInput(EraseMessageQuerySchema, c.req.query(), "query");
		return answer(c.env, "message", messageId, () => eraseMessage(c.env, messageId, { cursor }));
	})
	.post("/erase", async (c) => {
		const { phoneNumber, cursor } = await readJsonBody(c.req.raw, ErasePhoneNumberBodySchema);
		return answer(c.env, "phone_number", phoneNumber, () => erasePhoneNumber(c.env, phoneNumber, { cursor }));
	})
	.all("/erase", () => {
		throw new MethodNotAllowedError(["POST"]);
	});

/** The answer of DELETE /messages/:messageId and POST /erase, for the OpenAPI document. */
export const ErasureResponseSchema = ErasureReportSchema;
