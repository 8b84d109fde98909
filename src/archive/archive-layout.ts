import type { Hour } from "../ledger/partitions";

/**
 * events/YYYY/MM/DD/HH/<ledger>-<part>.ndjson.gz: partitioned by the UTC hour the relay received
 * the events, so a day or an hour is one prefix for DuckDB, R2 SQL or `GET /v1/archive?date=`.
 * The name is fixed by (hour, ledger, part): writing an hour again replaces its objects instead of
 * adding copies, which is what makes the archive exactly-once across crashes and retries.
 */
export function archiveKey(hour: Hour, ledger: string, part: number): string {
	const [date = "", hh = ""] = hour.split("T");
	return `events/${date.replaceAll("-", "/")}/${hh}/${ledger}-${String(part).padStart(3, "0")}.ndjson.gz`;
}

/** Stored with each object, so listing needs no read of the object itself. */
export interface ArchiveObjectMeta {
	events: string;
	/** Uncompressed NDJSON bytes. */
	bytes: string;
}
