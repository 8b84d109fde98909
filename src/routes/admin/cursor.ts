import * as v from "valibot";

/*
 * Keyset pagination: a cursor is the sort key of the last row of a page (base64url JSON, opaque to
 * clients) and the next page starts strictly after it. Rows inserted meanwhile cannot shift a page
 * the way an offset would, so no row is skipped or repeated.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export interface Page<TItem> {
	items: TItem[];
	nextCursor: string | null;
}

export function encodeCursor(key: readonly (string | number)[]): string {
	const binary = String.fromCharCode(...encoder.encode(JSON.stringify(key)));
	return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function decodeCursor(cursor: string): unknown {
	try {
		const binary = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
		return JSON.parse(decoder.decode(Uint8Array.from(binary, (char) => char.charCodeAt(0))));
	} catch {
		return undefined;
	}
}

/** A query parameter holding a cursor whose decoded key must match `key`. */
export function cursorParam<TKey>(key: v.GenericSchema<unknown, TKey>) {
	return v.pipe(
		v.string(),
		v.rawTransform<string, TKey>(({ dataset, addIssue, NEVER }) => {
			const parsed = v.safeParse(key, decodeCursor(dataset.value));
			if (parsed.success) return parsed.output;
			addIssue({ message: "is not a cursor returned by this list" });
			return NEVER;
		}),
	);
}

/** `rows` were fetched with `limit + 1`: the extra row only says that another page exists. */
export function pageOf<TRow, TItem>(
	rows: readonly TRow[],
	limit: number,
	keyOf: (row: TRow) => readonly (string | number)[],
	itemOf: (row: TRow, index: number) => TItem,
): Page<TItem> {
	const shown = rows.slice(0, limit);
	const last = shown.at(-1);
	return {
		items: shown.map(itemOf),
		nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null,
	};
}
