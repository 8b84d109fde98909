import { DEFAULT_RETENTION_CONFIG, readRetentionConfig } from "../config";
import { log } from "../log";
import { DAY_MS, type Hour, hourStart, partitionEnd } from "./partitions";
import type { DayTables } from "./store/day-tables";
import type { Outbox } from "./store/outbox";

/**
 * Drops whole days once DEDUPE_DAYS have passed, nothing of them waits in the outbox, and (with an
 * archive) every hour of them is written. Answers the partitions dropped.
 */
export function forgetDays(
	ledger: { name: string; env: Env; days: DayTables; outbox: Outbox },
	now: number,
	archivedThrough: Hour | null,
): string[] {
	const config = readRetentionConfig(ledger.env);
	const dedupeMs = (config.ok ? config.value : DEFAULT_RETENTION_CONFIG).dedupeDays * DAY_MS;
	const dropped: string[] = [];
	for (const partition of ledger.days.partitions) {
		const end = partitionEnd(partition);
		if (end === null || end + dedupeMs > now) continue;
		if (archivedThrough !== null && hourStart(archivedThrough) < end) continue;
		if (ledger.outbox.holds(partition)) continue;
		ledger.days.drop(partition);
		dropped.push(partition);
	}
	if (dropped.length > 0) log.info("ledger_days_forgotten", { ledger: ledger.name, partitions: dropped });
	return dropped;
}
