import { readLedgerConfig } from "../config";
import { type BucketSchedule, bucketCountAt, bucketsEverUsed, creationTimeForBuckets } from "./bucket-schedule";
import type { MessageLedger } from "./message-ledger.do";

/**
 * Events are kept by ledger buckets: one Durable Object per hash of the message id, not one per
 * message. A per-message object paid a fresh SQLite database (3 rows written), a forget alarm and a
 * deleteAll for every message — most of a message's cost. A bucket still serializes all events of
 * a message (they hash alike), so de-duplication and sequences stay lock-free.
 *
 * How many buckets is LEDGER_BUCKETS (default 64), a schedule keyed by each message's creation time
 * (src/ledger/bucket-schedule.ts), so raising it moves no message that already has a bucket. 64
 * keeps each bucket near 160 requests/s at 10,000 events/s, far under one Durable Object's
 * ~1,000/s, while a bucket at 10 events/s still sees a request every few seconds.
 */

/** The env a ledger is found with: LEDGER_BUCKETS absent (a narrowed env in tests) is the default. */
export type LedgerEnv = Pick<Env, "MESSAGE_LEDGER"> & { LEDGER_BUCKETS?: string };

/** An invalid LEDGER_BUCKETS: no event may be placed, or looked for, by a guess. */
export class LedgerBucketsInvalidError extends Error {
	override readonly name = "LedgerBucketsInvalidError";
}

function fnv1a(text: string): number {
	let hash = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) {
		hash ^= text.charCodeAt(i);
		hash = Math.imul(hash, 0x01000193);
	}
	return hash >>> 0;
}

export function ledgerName(bucket: number): string {
	return `ledger-${String(bucket).padStart(2, "0")}`;
}

/** The bucket schedule LEDGER_BUCKETS sets; throws LedgerBucketsInvalidError when it is invalid. */
export function bucketScheduleOf(env: object): BucketSchedule {
	const config = readLedgerConfig(env);
	if (!config.ok) throw new LedgerBucketsInvalidError(config.message);
	return config.value.buckets;
}

/** The bucket a message lives in under a schedule: fixed by its id alone. */
export function bucketNameIn(schedule: BucketSchedule, messageId: string): string {
	return ledgerName(fnv1a(messageId) % bucketCountAt(schedule, creationTimeForBuckets(messageId)));
}

export function ledgerNameOf(env: LedgerEnv, messageId: string): string {
	return bucketNameIn(bucketScheduleOf(env), messageId);
}

function namespace(env: Pick<Env, "MESSAGE_LEDGER">): DurableObjectNamespace<MessageLedger> {
	return env.MESSAGE_LEDGER as DurableObjectNamespace<MessageLedger>;
}

/** The ledger that keeps this message's events: same id, same object, anywhere in the world. */
export function ledgerFor(env: LedgerEnv, messageId: string): DurableObjectStub<MessageLedger> {
	return namespace(env).getByName(ledgerNameOf(env, messageId));
}

export function ledgerNamed(env: Pick<Env, "MESSAGE_LEDGER">, name: string): DurableObjectStub<MessageLedger> {
	return namespace(env).getByName(name);
}

/**
 * A ledger's own name, from its id. `ctx.id.name` is undefined in an instance the runtime started
 * from the bare id (an alarm scheduled before names were passed through, an object reached by
 * idFromString, local dev waking an evicted object for its alarm), and the named calls after reach
 * that same instance. The name is then found again among the buckets (idFromName is computed
 * locally), so the archive objects, handoffs and reports of that instance carry the bucket's name:
 * an archive written under the hex id was never found by an erasure (fault simulation seeds 3116,
 * 3157, 5094, 6151 and 15006). An id that is no bucket's keeps its hex form.
 */
export function ledgerNameOfId(env: LedgerEnv, id: DurableObjectId): string {
	if (id.name !== undefined) return id.name;
	let names: string[] = [];
	try {
		names = allLedgerNames(env);
	} catch {
		// An invalid LEDGER_BUCKETS: no bucket to match.
	}
	return names.find((name) => namespace(env).idFromName(name).equals(id)) ?? id.toString();
}

/** Every bucket that may hold events: under any entry of the schedule, old or new. */
export function allLedgerNames(env: LedgerEnv): string[] {
	return Array.from({ length: bucketsEverUsed(bucketScheduleOf(env)) }, (_, bucket) => ledgerName(bucket));
}
