import * as v from "valibot";
import { isRfc3339 } from "./timestamp";

/*
 * Validation policy (DESIGN §6): strict only on what makes an event meaningless, lenient on
 * everything Bandwidth is known to vary. An optional field of the wrong JSON type is read as
 * absent rather than quarantining the whole event; the untouched original travels with the
 * normalized event anyway.
 */

const Timestamp = v.pipe(v.string(), v.check(isRfc3339, "must be an RFC 3339 timestamp"));

/**
 * Identifiers are copied into their own columns and into the normalized event as well as the
 * original, so an unbounded one multiplies into a row D1 refuses (2 MB) on every retry. The
 * longest Bandwidth documents (REFERENCE §4, §5, §12) is a 36-character application UUID; message
 * ids are 29 characters in every example, E.164 numbers at most 16, alphanumeric sender ids at
 * most 11, short codes 5–6. 128 leaves room for formats Bandwidth has not documented (RBM agent
 * ids) while keeping every copy of every identifier in a row under a few kilobytes.
 */
export const MAX_IDENTIFIER_CHARS = 128;
const Identifier = v.pipe(
	v.string(),
	v.maxLength(MAX_IDENTIFIER_CHARS, `must be at most ${MAX_IDENTIFIER_CHARS} characters`),
);
const NonEmptyString = v.pipe(Identifier, v.nonEmpty("must not be empty"));
/**
 * The message id keys the ledger, D1's event tables and every erasure. SQLite keeps a lone surrogate
 * as bytes that read back as U+FFFD, so a row stored under such an id is never found again by the
 * id it was read with: such an id is quarantined, not stored where no lookup reaches it.
 */
const MessageId = v.pipe(
	NonEmptyString,
	v.check((id) => id.isWellFormed(), "must be well-formed Unicode (it has a lone surrogate)"),
);

function lenient<TSchema extends v.GenericSchema>(schema: TSchema) {
	return v.fallback(v.optional(schema), undefined);
}

const optionalMessageEntries = {
	text: lenient(v.string()),
	// `media: null` appears in the 2025 spec; fallback reads it as no media.
	media: lenient(v.array(v.string())),
	segmentCount: lenient(v.pipe(v.number(), v.integer())),
	tag: lenient(v.string()),
	priority: lenient(v.string()),
	channel: lenient(v.string()),
};

export const MessageSchema = v.object({
	id: MessageId,
	owner: Identifier,
	applicationId: Identifier,
	time: Timestamp,
	direction: v.picklist(["in", "out"]),
	to: v.array(Identifier),
	from: Identifier,
	...optionalMessageEntries,
});

const envelopeEntries = {
	time: Timestamp,
	to: Identifier,
	description: lenient(v.string()),
	carrierName: lenient(v.string()),
	message: MessageSchema,
};

export const MessageReceivedSchema = v.object({
	type: v.literal("message-received"),
	...envelopeEntries,
});
export const MessageSendingSchema = v.object({
	type: v.literal("message-sending"),
	...envelopeEntries,
});
export const MessageSentSchema = v.object({ type: v.literal("message-sent"), ...envelopeEntries });
export const MessageDeliveredSchema = v.object({
	type: v.literal("message-delivered"),
	...envelopeEntries,
});
export const MessageFailedSchema = v.object({
	type: v.literal("message-failed"),
	...envelopeEntries,
	// Optional and nullable in the 2025/2026 specs; a non-integer code is garbage, not a code.
	errorCode: v.optional(v.nullable(v.pipe(v.number(), v.integer("must be an integer")))),
});
export const MessageReadSchema = v.object({
	type: v.literal("message-read"),
	...envelopeEntries,
	eventTime: lenient(Timestamp),
});
export const SuggestionResponseSchema = v.object({
	type: v.literal("suggestion-response"),
	...envelopeEntries,
});
/** Bandwidth has spelled this type three ways since 2025; all mean the same event. */
export const LocationResponseSchema = v.object({
	type: v.picklist(["requested-location-response", "request-location-response", "location-request-response"]),
	...envelopeEntries,
});

export const KnownEventSchema = v.variant("type", [
	MessageReceivedSchema,
	MessageSendingSchema,
	MessageSentSchema,
	MessageDeliveredSchema,
	MessageFailedSchema,
	MessageReadSchema,
	SuggestionResponseSchema,
	LocationResponseSchema,
]);
export type KnownEvent = v.InferOutput<typeof KnownEventSchema>;
export type BandwidthEventType = KnownEvent["type"];

/** The least an element needs to be an event at all, whatever its type. */
export const EventBaseSchema = v.object({
	type: v.string(),
	time: lenient(v.string()),
	to: lenient(Identifier),
	carrierName: lenient(v.string()),
	message: v.object({
		id: MessageId,
		applicationId: lenient(Identifier),
		direction: lenient(v.string()),
		owner: lenient(Identifier),
		from: lenient(Identifier),
		to: lenient(v.array(Identifier)),
		time: lenient(v.string()),
		...optionalMessageEntries,
	}),
});
export type EventBase = v.InferOutput<typeof EventBaseSchema>;

export const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set(
	KnownEventSchema.options.flatMap((option) => {
		const discriminator = option.entries.type;
		return discriminator.type === "picklist" ? discriminator.options : [discriminator.literal];
	}),
);
