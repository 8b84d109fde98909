/*
 * A ledger keeps its events in one table per UTC day of their archive hour. Forgetting a day is a
 * DROP TABLE, which writes no rows (a DELETE would bill one per row), and archiving an hour reads
 * one day's table only.
 */

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const PARTITION = /^p_(\d{4})(\d{2})(\d{2})$/;

/** "2026-12-01T04": the UTC hour an event is archived under. */
export type Hour = string;

export function hourOf(time: string | number): Hour {
	return new Date(time).toISOString().slice(0, 13);
}

export function hourStart(hour: Hour): number {
	return Date.parse(`${hour}:00:00.000Z`);
}

export function nextHour(hour: Hour): Hour {
	return hourOf(hourStart(hour) + HOUR_MS);
}

/** The table of the day an hour belongs to: p_20261201. */
export function partitionOf(hour: Hour): string {
	return `p_${hour.slice(0, 10).replaceAll("-", "")}`;
}

/** The start of the day a partition holds, or null for a name that is not a partition. */
export function partitionDay(name: string): number | null {
	const match = PARTITION.exec(name);
	if (match === null) return null;
	return Date.parse(`${match[1]}-${match[2]}-${match[3]}T00:00:00.000Z`);
}

/** A partition may be dropped once the last moment of its day is older than this. */
export function partitionEnd(name: string): number | null {
	const day = partitionDay(name);
	return day === null ? null : day + DAY_MS;
}

export { DAY_MS, HOUR_MS };
