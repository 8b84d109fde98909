// Bandwidth sends seconds, milliseconds and microseconds in the same field; RFC 3339 allows any
// number of fraction digits, so a fixed layout would reject real traffic.
const RFC3339 =
	/^(\d{4})-(\d{2})-(\d{2})[Tt ]([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

export function isRfc3339(value: string): boolean {
	const match = RFC3339.exec(value);
	if (!match) return false;
	const year = Number(match[1]);
	const month = Number(match[2]);
	const day = Number(match[3]);
	// Date.parse rolls 2024-02-30 over to March; a calendar check catches it.
	const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
	return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth;
}

/** UTC, millisecond precision: sorts as text, which the D1 time filters rely on. */
export function toUtcIso(value: string): string | null {
	if (!isRfc3339(value)) return null;
	const millis = Date.parse(value.toUpperCase().replace(" ", "T"));
	return Number.isNaN(millis) ? null : new Date(millis).toISOString();
}
