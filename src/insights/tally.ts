import type { Fact } from "./facts";
import { binOf } from "./latency-sketch";

/*
 * Facts added up per rollup key (hour, application, number): what a ledger holds in memory until
 * its counts are written, and what the cron adds to D1. Plain objects, so they cross an RPC call
 * as they are, and small: one row per key, however many events.
 */

export interface KeyTally {
	/** Epoch hours of the messages' send time. */
	hour: number;
	applicationId: string;
	number: string;
	sent: number;
	delivered: number;
	failed: number;
	receivedSms: number;
	receivedMms: number;
	/** Latency bin → deliveries in it (only bins that have some). */
	latency: Record<number, number>;
	/** Error code → failures. */
	errors: Record<number, number>;
}

/** Tallies by key. */
export type Tally = Record<string, KeyTally>;

export function tallyKey(hour: number, applicationId: string, number: string): string {
	return JSON.stringify([hour, applicationId, number]);
}

function entryFor(tally: Tally, hour: number, applicationId: string, number: string): KeyTally {
	const key = tallyKey(hour, applicationId, number);
	let entry = tally[key];
	if (entry === undefined) {
		entry = {
			hour,
			applicationId,
			number,
			sent: 0,
			delivered: 0,
			failed: 0,
			receivedSms: 0,
			receivedMms: 0,
			latency: {},
			errors: {},
		};
		tally[key] = entry;
	}
	return entry;
}

export function addFact(tally: Tally, fact: Fact): void {
	const entry = entryFor(tally, fact.hour, fact.applicationId, fact.number);
	if (fact.sentAt !== undefined) entry.sent += 1;
	if (fact.latencyMs !== undefined) {
		entry.delivered += 1;
		const bin = binOf(fact.latencyMs);
		entry.latency[bin] = (entry.latency[bin] ?? 0) + 1;
	}
	if (fact.failedCode !== undefined) {
		entry.failed += 1;
		entry.errors[fact.failedCode] = (entry.errors[fact.failedCode] ?? 0) + 1;
	}
	if (fact.received === "sms") entry.receivedSms += 1;
	if (fact.received === "mms") entry.receivedMms += 1;
}

/** Adds every key of `from` into `into`. */
export function mergeTally(into: Tally, from: Tally): void {
	for (const source of Object.values(from)) {
		const entry = entryFor(into, source.hour, source.applicationId, source.number);
		entry.sent += source.sent;
		entry.delivered += source.delivered;
		entry.failed += source.failed;
		entry.receivedSms += source.receivedSms;
		entry.receivedMms += source.receivedMms;
		for (const [bin, count] of Object.entries(source.latency)) {
			entry.latency[Number(bin)] = (entry.latency[Number(bin)] ?? 0) + count;
		}
		for (const [code, count] of Object.entries(source.errors)) {
			entry.errors[Number(code)] = (entry.errors[Number(code)] ?? 0) + count;
		}
	}
}

export function isEmptyTally(tally: Tally): boolean {
	return Object.keys(tally).length === 0;
}
