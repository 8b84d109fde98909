import { findRows } from "./drain-lag.ts";
import { ROUTE_HEADER } from "./processes.ts";
import { type Target, WORKER_NAMES } from "./targets.ts";

/*
 * What the bench reads back from the relay while a scenario runs: D1's size as D1 reports it
 * (GET /v1/stats), the archive's objects for a day (GET /v1/archive, the counts each object
 * carries), and which events D1 still holds (the probe). None of it is inside a metered window.
 */

type Meter = NonNullable<Target["meter"]>;

async function adminGet<T>(relay: Target, path: string): Promise<T> {
	const admin = relay.meter as Meter;
	const base = admin.url.replace(/\/v1\/meter$/, "");
	const response = await fetch(`${base}${path}`, { headers: admin.headers });
	if (!response.ok) throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`);
	return (await response.json()) as T;
}

export async function d1SizeBytes(relay: Target): Promise<number> {
	const stats = await adminGet<{ storage: { d1: { sizeBytes: number } } }>(relay, "/v1/stats");
	return stats.storage.d1.sizeBytes;
}

type ArchivePage = {
	items: Array<{ key: string; events: number | null; bytes: number | null; size: number }>;
	nextCursor: string | null;
};

export interface ArchiveHolding {
	objects: number;
	events: number;
	/** Stored (gzip) bytes, and the NDJSON they hold. */
	bytes: number;
	ndjsonBytes: number;
	/** Distinct (hour, ledger) the objects are for: events/YYYY/MM/DD/HH/<ledger>-<part>.ndjson.gz. */
	bucketHours: number;
}

/** What the archive holds for these UTC dates (YYYY-MM-DD), from its listing and the counts each object carries. */
export async function archiveHolds(relay: Target, dates: readonly string[]): Promise<ArchiveHolding> {
	const total = { objects: 0, events: 0, bytes: 0, ndjsonBytes: 0, bucketHours: 0 };
	const bucketHours = new Set<string>();
	for (const date of dates) {
		let cursor: string | null = null;
		do {
			const query = new URLSearchParams({ date, limit: "500", ...(cursor === null ? {} : { cursor }) });
			const page: ArchivePage = await adminGet<ArchivePage>(relay, `/v1/archive?${query}`);
			for (const item of page.items) {
				total.objects += 1;
				total.events += item.events ?? 0;
				total.bytes += item.size;
				total.ndjsonBytes += item.bytes ?? 0;
				bucketHours.add(item.key.replace(/-\d+\.ndjson\.gz$/, ""));
			}
			cursor = page.nextCursor;
		} while (cursor !== null);
	}
	return { ...total, bucketHours: bucketHours.size };
}

/** How many of these events D1 holds. */
export async function countInD1(entryUrl: string, eventIds: readonly string[]): Promise<number> {
	let found = 0;
	for (let start = 0; start < eventIds.length; start += 500) {
		found += (await findRows(entryUrl, eventIds.slice(start, start + 500))).length;
	}
	return found;
}

/** How many events the relay's D1 holds in all (every event table and the legacy one), and the floor's, read by the probe. */
export async function eventsInD1(entryUrl: string): Promise<{ relay: number; floor: number }> {
	const response = await fetch(`${entryUrl}/`, { headers: { [ROUTE_HEADER]: WORKER_NAMES.probe } });
	if (!response.ok) throw new Error(`probe answered ${response.status}: ${await response.text()}`);
	return (await response.json()) as { relay: number; floor: number };
}
