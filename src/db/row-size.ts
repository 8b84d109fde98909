/*
 * D1 and Durable Object SQLite both refuse a row over 2,000,000 bytes, and refuse it again on every
 * retry: an element whose row would be larger must be stored some other way before it is written.
 * The limit applies to the whole record, so every column counts, not just the largest.
 */

/** The margin under 2,000,000 covers the record header and the ledger's own bookkeeping columns. */
export const MAX_ROW_BYTES = 1_800_000;
/** A SQLite record header spends at most 9 bytes per column on its type and length. */
const HEADER_BYTES_PER_COLUMN = 9;
const NUMBER_BYTES = 8;
export type RowValue = string | number | null;

/** The length TextEncoder will give `text`, counted without encoding it; a lone surrogate is U+FFFD, 3 bytes. */
export function utf8Bytes(text: string): number {
	let bytes = 0;
	for (let i = 0; i < text.length; i += 1) {
		const unit = text.charCodeAt(i);
		if (unit < 0x80) bytes += 1;
		else if (unit < 0x800) bytes += 2;
		else if (unit >= 0xd800 && unit < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
			bytes += 4;
			i += 1;
		} else bytes += 3;
	}
	return bytes;
}

/** How many of the leading `sizes` fit in `maxBytes` together; at least one when there is any. */
export function countWithin(sizes: readonly number[], maxBytes: number): number {
	let count = 0;
	let total = 0;
	for (const size of sizes) {
		if (count > 0 && total + size > maxBytes) break;
		total += size;
		count += 1;
	}
	return count;
}

/** The bytes one row takes in a SQLite record. */
export function rowBytes(row: Readonly<Record<string, RowValue>>): number {
	let total = 0;
	for (const value of Object.values(row)) {
		total += HEADER_BYTES_PER_COLUMN;
		if (typeof value === "string") total += utf8Bytes(value);
		else if (typeof value === "number") total += NUMBER_BYTES;
	}
	return total;
}

/** The row's size when it is over MAX_ROW_BYTES, else null; small rows are not encoded to find out. */
export function oversizedRow(row: Readonly<Record<string, RowValue>>): number | null {
	let bound = 0;
	for (const value of Object.values(row)) {
		// UTF-8 needs at most 3 bytes per UTF-16 unit.
		bound += HEADER_BYTES_PER_COLUMN + (typeof value === "string" ? value.length * 3 : NUMBER_BYTES);
	}
	if (bound <= MAX_ROW_BYTES) return null;
	const bytes = rowBytes(row);
	return bytes > MAX_ROW_BYTES ? bytes : null;
}
