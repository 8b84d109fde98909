import type { MessageLedger } from "./message-ledger.do";

/**
 * Events are kept by ledger buckets: one Durable Object per hash of the message id, not one per
 * message. A per-message object paid a fresh SQLite database (3 rows written), a forget alarm and a
 * deleteAll for every message — most of a message's cost. A bucket still serializes all events of
 * a message (they hash alike), so de-duplication and sequences stay lock-free.
 *
 * Never change the count of a deployed relay: an event's bucket is where its duplicates are
 * recognized. 64 keeps each bucket near 160 requests/s at 10,000 events/s, far under one Durable
 * Object's ~1,000/s, while a bucket at 10 events/s still sees a request every few seconds.
 */
export const LEDGER_BUCKETS = 64;

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

export function ledgerNameOf(messageId: string): string {
	return ledgerName(fnv1a(messageId) % LEDGER_BUCKETS);
}

function namespace(env: Pick<Env, "MESSAGE_LEDGER">): DurableObjectNamespace<MessageLedger> {
	return env.MESSAGE_LEDGER as DurableObjectNamespace<MessageLedger>;
}

/** The ledger that keeps this message's events: same id, same object, anywhere in the world. */
export function ledgerFor(env: Pick<Env, "MESSAGE_LEDGER">, messageId: string): DurableObjectStub<MessageLedger> {
	return namespace(env).getByName(ledgerNameOf(messageId));
}

export function ledgerNamed(env: Pick<Env, "MESSAGE_LEDGER">, name: string): DurableObjectStub<MessageLedger> {
	return namespace(env).getByName(name);
}

export function allLedgerNames(): string[] {
	return Array.from({ length: LEDGER_BUCKETS }, (_, bucket) => ledgerName(bucket));
}
