import * as v from "valibot";
import { decodeOpaqueCursor, encodeOpaqueCursor } from "../../http/opaque-cursor";

/*
 * Keyset pagination: a cursor is the sort key of the last row of a page (base64url JSON, opaque to
 * clients) and the next page starts strictly after it. Rows inserted meanwhile cannot shift a page
 * the way an offset would, so no row is skipped or repeated.
 */

export interface Page<TItem> {
	items: TItem[];
	nextCursor: string | null;
}

export function encodeCursor(key: readonly (string | number | null)[]): string {
	return encodeOpaqueCursor(key);
}

/** A query parameter holding a cursor whose decoded key must match `key`. */
export function cursorParam<TKey>(key: v.GenericSchema<unknown, TKey>) {
	return v.pipe(
		v.string(),
		v.rawTransform<string, TKey>(({ dataset, addIssue, NEVER }) => {
			const parsed = v.safeParse(key, decodeOpaqueCursor(dataset.value));
			if (parsed.success) return parsed.output;
			addIssue({ message: "is not a cursor returned by this list" });
			return NEVER;
		}),
	);
}

/**
 * What one page may hold of bodies (events, quarantined elements, delivery errors), beside its row
 * limit: a Worker has 128 MB, and 500 rows near D1's 2 MB row limit would be 900 MB. A page ends
 * before the row that would take it past this, and answers a `nextCursor` to the rest.
 */
export const PAGE_MAX_BYTES = 8_000_000;

/** A page that ends at the row whose key is `lastKey`; `more` says that rows follow it. */
export function pageEndingAt<TItem>(
	items: TItem[],
	lastKey: readonly (string | number)[] | undefined,
	more: boolean,
): Page<TItem> {
	return { items, nextCursor: more && lastKey !== undefined ? encodeCursor(lastKey) : null };
}
