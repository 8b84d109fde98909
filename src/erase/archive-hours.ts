import { hourPrefix } from "../archive/archive-prefixes";
import { type Hour, hourStart } from "../ledger/partitions";
import { type ArchivedEvent, type LinePicker, rewriteArchiveObject, uncompressedBytes } from "./archive-rewrite";
import type { ErasureBudget } from "./erasure-budget";
import type { ErasureCounts } from "./erasure-counts";
import type { HourRuns } from "./erasure-cursor";

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/**
 * How long after its creation a message's events may still arrive: a delivery receipt up to 73 h
 * after sending (Bandwidth, July 2026) plus Bandwidth's 24 h of retries, about 4 days; 5 to spare.
 */
export const MESSAGE_EVENTS_WINDOW_MS = 5 * DAY_MS;

/** Whole hours since the epoch: the unit an erasure's hour plan is kept in. */
export function hourNumber(time: number): number {
	return Math.floor(time / HOUR_MS);
}

export function hourNumberOf(hour: Hour): number {
	return hourNumber(hourStart(hour));
}

/**
 * Bandwidth's message ids start with the epoch milliseconds of the message's creation
 * (`14762070468292kw2fuqty55yp2b2`: 2016-10-11). Null for an id that does not, or whose digits
 * lie in the future: it is no creation time.
 */
export function creationTimeOf(messageId: string, now: number): number | null {
	const digits = /^\d{13}/.exec(messageId)?.[0];
	if (digits === undefined) return null;
	const time = Number(digits);
	return time <= now + DAY_MS ? time : null;
}

export interface MessageHourSources {
	/** Hours the ledger filed the message's rows under: exact. */
	ledgerHours: readonly Hour[];
	/** When D1's events of the message were received: each one's hour and the next (a late accept files it there). */
	receivedAt: readonly string[];
	/** From the id: creation to MESSAGE_EVENTS_WINDOW_MS later, within what the archive still keeps. */
	createdAt: number | null;
	now: number;
	archiveRetentionDays: number;
}

/** The hours whose objects may hold the message's lines, ascending, as runs. */
export function messageHours(sources: MessageHourSources): HourRuns {
	const hours = new Set<number>();
	for (const hour of sources.ledgerHours) hours.add(hourNumberOf(hour));
	for (const received of sources.receivedAt) {
		const time = Date.parse(received);
		if (Number.isNaN(time)) continue;
		hours.add(hourNumber(time));
		hours.add(hourNumber(time) + 1);
	}
	if (sources.createdAt !== null) {
		const oldest = hourNumber(sources.now - (sources.archiveRetentionDays + 1) * DAY_MS);
		const first = Math.max(hourNumber(sources.createdAt), oldest);
		const last = hourNumber(Math.min(sources.createdAt + MESSAGE_EVENTS_WINDOW_MS, sources.now));
		for (let hour = first; hour <= last; hour += 1) hours.add(hour);
	}
	return toRuns([...hours].sort((a, b) => a - b));
}

function toRuns(sorted: readonly number[]): HourRuns {
	const runs: HourRuns = [];
	for (const hour of sorted) {
		const last = runs.at(-1);
		if (last !== undefined && last[0] + last[1] === hour) last[1] += 1;
		else runs.push([hour, 1]);
	}
	return runs;
}

function withoutFirstHour(runs: HourRuns): HourRuns {
	const [first, ...rest] = runs;
	if (first === undefined) return [];
	return first[1] > 1 ? [[first[0] + 1, first[1] - 1], ...rest] : rest;
}

export interface HoursScanned {
	counts: Pick<ErasureCounts, "archiveObjectsRewritten" | "archiveEvents">;
	removed: ArchivedEvent[];
	/** Hours still to scan, the first one from after `after`. */
	runs: HourRuns;
	after: string | null;
}

/**
 * Rewrites the objects of `ledger` in each planned hour, while the budget lasts. A message's
 * events all hash to one ledger, so one hour is one short listing (`…/HH/ledger-NN-`), however
 * many ledgers and parts the hour has.
 */
export async function scanHours(
	archive: R2Bucket,
	ledger: string,
	plan: { runs: HourRuns; after: string | null },
	budget: ErasureBudget,
	pick: LinePicker,
): Promise<HoursScanned> {
	let { runs, after } = plan;
	const scanned: HoursScanned = { counts: { archiveObjectsRewritten: 0, archiveEvents: 0 }, removed: [], runs, after };
	/** R2's own cursor, while one hour takes several listings. */
	let page: string | undefined;
	for (;;) {
		const first = runs[0];
		if (first === undefined || !budget.allows(1)) break;
		const listed = await archive.list({
			prefix: `${hourPrefix(first[0] * HOUR_MS)}${ledger}-`,
			include: ["customMetadata"],
			...(page !== undefined ? { cursor: page } : after === null ? {} : { startAfter: after }),
		});
		budget.spend(1);
		let stopped = false;
		for (const object of listed.objects) {
			const bytes = uncompressedBytes(object);
			if (!budget.allows(2, bytes)) {
				stopped = true;
				break;
			}
			const rewrite = await rewriteArchiveObject(archive, object.key, pick);
			budget.spend(rewrite.operations, rewrite.bytes);
			if (rewrite.removed.length > 0) {
				scanned.counts.archiveObjectsRewritten += 1;
				scanned.counts.archiveEvents += rewrite.removed.length;
				scanned.removed.push(...rewrite.removed);
			}
			after = object.key;
			budget.advance();
		}
		if (stopped) break;
		// With `include`, a listing can stop short of its limit and still have more: `truncated` says.
		if (listed.truncated) {
			page = listed.cursor;
			continue;
		}
		page = undefined;
		runs = withoutFirstHour(runs);
		after = null;
		budget.advance();
	}
	return { ...scanned, runs, after };
}
