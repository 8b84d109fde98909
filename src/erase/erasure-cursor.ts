import * as v from "valibot";
import { decodeOpaqueCursor, encodeOpaqueCursor } from "../http/opaque-cursor";
import { ErasureCountsSchema } from "./erasure-counts";

/*
 * Where an unfinished erasure stands, handed to the client as an opaque string (base64url JSON)
 * and handed back to continue. `s` binds it to its subject (erasureSubject), so a cursor of one
 * erasure cannot make another skip work; `t` carries the totals so far, for the audit line the
 * last call writes.
 */

const Text = v.pipe(v.string(), v.maxLength(1024));
const HourNumber = v.pipe(v.number(), v.safeInteger(), v.minValue(0));

/** Hours left to scan (whole hours since the epoch), as runs: [first, count]. */
export type HourRuns = Array<[first: number, count: number]>;

const MessageCursorSchema = v.strictObject({
	k: v.literal("message"),
	s: Text,
	h: v.pipe(v.array(v.tuple([HourNumber, v.pipe(HourNumber, v.minValue(1))])), v.maxLength(512)),
	/** The last archive key done in the first hour of `h`. */
	a: v.nullable(Text),
	t: ErasureCountsSchema,
});
export type MessageCursor = v.InferOutput<typeof MessageCursorSchema>;

export const PHONE_PHASES = ["events", "quarantine", "archive"] as const;
export type PhonePhase = (typeof PHONE_PHASES)[number];

const PhoneCursorSchema = v.strictObject({
	k: v.literal("phone_number"),
	s: Text,
	p: v.picklist(PHONE_PHASES),
	/**
	 * The sort key of the last row or object done in the phase: [table, message id, id] in D1
	 * ([time, id], from before the day tables, restarts the walk), the key in R2.
	 */
	a: v.nullable(v.union([v.tuple([Text, Text, Text]), v.tuple([Text, Text]), Text])),
	t: ErasureCountsSchema,
});
export type PhoneCursor = v.InferOutput<typeof PhoneCursorSchema>;

export function encodeErasureCursor(cursor: MessageCursor | PhoneCursor): string {
	return encodeOpaqueCursor(cursor);
}

function decodeWith<TSchema extends v.GenericSchema>(schema: TSchema, cursor: string): v.InferOutput<TSchema> | null {
	const parsed = v.safeParse(schema, decodeOpaqueCursor(cursor));
	return parsed.success ? parsed.output : null;
}

export const decodeMessageCursor = (cursor: string): MessageCursor | null => decodeWith(MessageCursorSchema, cursor);
export const decodePhoneCursor = (cursor: string): PhoneCursor | null => decodeWith(PhoneCursorSchema, cursor);

/** The request parameter: well-formed for one kind of erasure or rejected as a bad parameter. */
export function erasureCursorParam(kind: "message" | "phone_number") {
	const decode = kind === "message" ? decodeMessageCursor : decodePhoneCursor;
	return v.pipe(
		v.string(),
		v.maxLength(16_384, "is too long"),
		v.check((cursor) => decode(cursor) !== null, "is not a cursor returned by this erasure"),
	);
}
