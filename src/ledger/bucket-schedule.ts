import * as v from "valibot";
import { isRfc3339 } from "../bandwidth/timestamp";
import { unset } from "../env-vars";

/*
 * LEDGER_BUCKETS: how many ledger buckets messages hash over, as a schedule that only grows
 * forward in time: "64", or "64,128@2026-12-10T00:00:00Z" (messages created at or after that
 * instant hash over 128). A message's bucket is where its duplicates are recognized and its
 * sequence kept, so it must never move: it is fixed by the message's own creation time, which
 * Bandwidth writes into the first 13 digits of every message id (epoch milliseconds:
 * `14762070468292kw2fuqty55yp2b2`). Every event of a message, and every retry, carries the same
 * id, so they all reach the same bucket whatever the schedule says by then, and anything that has
 * only the id (erasure, a large event's body, the admin API) finds it without asking around. An id
 * without those digits counts as created before every entry: it stays on the first count.
 *
 * Raising the count moves no data and forgets nothing: the old buckets keep the messages created
 * before the instant, for as long as they always did. An entry must be deployed before its instant
 * and never edited or removed afterwards (a message created between would change buckets).
 */

export const DEFAULT_LEDGER_BUCKETS = 64;
/** Each bucket is visited by the cron every minute; past a few thousand that visit is the bill. */
export const MAX_LEDGER_BUCKETS = 4096;

export interface BucketEpoch {
	/** Buckets for messages created at or after `from` (epoch ms; -Infinity for the first entry). */
	count: number;
	from: number;
}

export type BucketSchedule = readonly BucketEpoch[];

export const DEFAULT_BUCKET_SCHEDULE: BucketSchedule = [
	{ count: DEFAULT_LEDGER_BUCKETS, from: Number.NEGATIVE_INFINITY },
];

const EXAMPLE = 'e.g. "64" or "64,128@2026-12-10T00:00:00Z"';
const ENTRY = /^(\d{1,5})(?:@(.+))?$/;

function parseSchedule(text: string): { schedule: BucketEpoch[] } | { problem: string } {
	const schedule: BucketEpoch[] = [];
	for (const [index, raw] of text.split(",").entries()) {
		const item = raw.trim();
		const match = ENTRY.exec(item);
		const shown = JSON.stringify(item.slice(0, 60));
		if (match === null) return { problem: `${shown} is not a count or count@instant (${EXAMPLE})` };
		const count = Number(match[1]);
		if (count < 1 || count > MAX_LEDGER_BUCKETS) {
			return { problem: `${shown}: a count must be from 1 to ${MAX_LEDGER_BUCKETS}` };
		}
		const instant = match[2];
		if (index === 0) {
			if (instant !== undefined)
				return { problem: `the first entry is a count alone, for every older message (${EXAMPLE})` };
			schedule.push({ count, from: Number.NEGATIVE_INFINITY });
			continue;
		}
		if (instant === undefined)
			return { problem: `${shown}: every entry after the first needs @<instant> (${EXAMPLE})` };
		if (!isRfc3339(instant)) return { problem: `${shown}: ${JSON.stringify(instant)} is not an RFC 3339 instant` };
		const from = Date.parse(instant.toUpperCase().replace(" ", "T"));
		const previous = schedule.at(-1) as BucketEpoch;
		if (from <= previous.from) return { problem: `${shown}: each entry's instant must come after the one before` };
		schedule.push({ count, from });
	}
	return { schedule };
}

/** LEDGER_BUCKETS as wrangler hands it (a string; unset or "" is the default 64). */
export const LedgerBucketsVar = v.pipe(
	v.unknown(),
	v.transform(unset),
	v.optional(v.string(), String(DEFAULT_LEDGER_BUCKETS)),
	v.string(),
	v.rawTransform(({ dataset, addIssue, NEVER }) => {
		const parsed = parseSchedule(dataset.value);
		if ("schedule" in parsed) return parsed.schedule as BucketSchedule;
		addIssue({ message: `LEDGER_BUCKETS: ${parsed.problem}` });
		return NEVER;
	}),
);

/** When a message was created, as far as its id says: the first 13 digits, epoch ms. */
export function creationTimeForBuckets(messageId: string): number {
	const digits = /^\d{13}/.exec(messageId)?.[0];
	return digits === undefined ? Number.NEGATIVE_INFINITY : Number(digits);
}

/** The bucket count for a message created at `createdAt`. */
export function bucketCountAt(schedule: BucketSchedule, createdAt: number): number {
	let count = schedule[0]?.count ?? DEFAULT_LEDGER_BUCKETS;
	for (const epoch of schedule) if (epoch.from <= createdAt) count = epoch.count;
	return count;
}

/** Every bucket any entry uses: the cron visits each one, old or new. */
export function bucketsEverUsed(schedule: BucketSchedule): number {
	return Math.max(...schedule.map((epoch) => epoch.count));
}
