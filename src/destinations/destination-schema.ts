import * as v from "valibot";
import { NORMALIZED_TYPES } from "../bandwidth/event-types";
import { eachEntry, jsonText } from "../env-vars";

/*
 * DESTINATIONS: the forward targets and the events each one takes. It arrives either as a TOML
 * array in wrangler.toml [vars] (an array here) or as a JSON string (.dev.vars, --var, a secret):
 *
 *   [{"name":"marketing","url":"https://…","applicationIds":["93de…"],"maxPerSecond":20},
 *    {"name":"support","url":"https://…","directions":["inbound"]}]
 *
 * Filters are optional and combine with AND; a list matches an event whose field is one of it.
 */

/** Names become secret names (DESTINATION_<NAME>_SIGNING_SECRET) and Durable Object keys. */
export const DESTINATION_NAME = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const MAX_DESTINATIONS = 20;
/** One consumer invocation holds at most 6 connections (src/forward/forward-batch.ts). */
const MAX_CONCURRENCY = 1000;

const nonEmptyList = <TItem extends v.GenericSchema<unknown, string>>(item: TItem, field: string) =>
	v.pipe(
		v.array(item, `${field} must be an array`),
		v.nonEmpty(`${field} must list at least one value (leave it out to match every event)`),
	);

const FilterString = v.pipe(v.string("filters hold strings"), v.nonEmpty("a filter value must not be empty"));

const DestinationSchema = v.strictObject({
	name: v.pipe(
		v.string("name must be a string"),
		v.regex(DESTINATION_NAME, "name must be 1–40 lowercase letters, digits and inner '-'"),
		// Deliveries of an event that matched no destination are recorded under "none".
		v.check((name) => name !== "none", 'name "none" is reserved'),
	),
	url: v.pipe(v.string("url must be a string"), v.url("url must be an absolute URL")),
	applicationIds: v.optional(nonEmptyList(FilterString, "applicationIds")),
	/** The Bandwidth numbers an event belongs to (its `owner`), E.164. */
	owners: v.optional(nonEmptyList(FilterString, "owners")),
	types: v.optional(
		nonEmptyList(v.picklist(NORMALIZED_TYPES, `types accept only: ${NORMALIZED_TYPES.join(", ")}`), "types"),
	),
	directions: v.optional(
		nonEmptyList(v.picklist(["inbound", "outbound"], "directions accept only: inbound, outbound"), "directions"),
	),
	maxPerSecond: v.optional(
		v.pipe(v.number("maxPerSecond must be a number"), v.minValue(0.01, "maxPerSecond must be at least 0.01")),
	),
	maxConcurrency: v.optional(
		v.pipe(
			v.number("maxConcurrency must be a number"),
			v.integer("maxConcurrency must be a whole number"),
			v.minValue(1, "maxConcurrency must be at least 1"),
			v.maxValue(MAX_CONCURRENCY, `maxConcurrency must be at most ${MAX_CONCURRENCY}`),
		),
	),
	timeoutMs: v.optional(
		v.pipe(
			v.number("timeoutMs must be a number"),
			v.integer("timeoutMs must be a whole number"),
			v.minValue(1, "timeoutMs must be at least 1"),
		),
	),
});
export type DestinationSettings = v.InferOutput<typeof DestinationSchema>;

/** `DESTINATIONS`, each entry checked on its own so that a message names it and its field. */
export const DestinationsSchema = v.pipe(
	v.unknown(),
	jsonText("DESTINATIONS"),
	v.array(v.unknown(), "DESTINATIONS must be an array of destinations"),
	v.maxLength(MAX_DESTINATIONS, `DESTINATIONS lists more than ${MAX_DESTINATIONS} destinations`),
	eachEntry("DESTINATIONS", DestinationSchema, (entry) => {
		const name = (entry as { name?: unknown } | null)?.name;
		return typeof name === "string" ? ` (${JSON.stringify(name.slice(0, 40))})` : "";
	}),
	v.check(
		(list) => new Set(list.map((destination) => destination.name)).size === list.length,
		"DESTINATIONS names a destination twice",
	),
);

/** The secret that signs one destination's forwards: `billing-eu` → DESTINATION_BILLING_EU_SIGNING_SECRET. */
export function secretNameOf(name: string): string {
	return `DESTINATION_${name.toUpperCase().replaceAll("-", "_")}_SIGNING_SECRET`;
}
