/** What the forwarding filters read of a CloudEvent. */
export interface EventHead {
	type: string;
	direction: string | null;
}

/*
 * The filters need two short fields of an event that can be 1.8 MB (a long text, then the original
 * element). JSON.parse would build the whole tree, long strings included, for each attempt; this
 * reads members in place and stops as soon as it has both. The relay writes `type` fourth and
 * `data.direction` fourth within `data` (src/bandwidth/normalize.ts), ahead of the text, so the
 * scan ends within the first few hundred characters; another order is read too, only further.
 */

const SPACE = new Set([" ", "\t", "\n", "\r"]);
const VALUE_END = new Set([",", "}", "]", " ", "\t", "\n", "\r"]);

class Cursor {
	at = 0;
	constructor(readonly text: string) {}

	/** Consumes `char` after any whitespace; false if something else comes next. */
	take(char: string): boolean {
		this.#space();
		if (this.text[this.at] !== char) return false;
		this.at += 1;
		return true;
	}

	/** A string, escapes decoded; undefined if the value here is not one. */
	string(): string | undefined {
		const start = this.#stringStart();
		if (start === undefined) return undefined;
		try {
			return JSON.parse(this.text.slice(start, this.at)) as string;
		} catch {
			return undefined; // an escape JSON does not have, such as \x
		}
	}

	/** A string or null; undefined for any other value. */
	nullableString(): string | null | undefined {
		this.#space();
		if (!this.text.startsWith("null", this.at)) return this.string();
		this.at += "null".length;
		return null;
	}

	/**
	 * Walks an object's members, calling `visit` with each key while the cursor is on its value;
	 * `visit` must consume the value and answers false for a value it cannot accept. Returns once
	 * `done()`, with the rest of the object unread.
	 */
	members(visit: (key: string) => boolean, done: () => boolean): boolean {
		if (!this.take("{")) return false;
		if (this.take("}")) return true;
		do {
			const key = this.string();
			if (key === undefined || !this.take(":") || !visit(key)) return false;
			if (done()) return true;
		} while (this.take(","));
		return this.take("}");
	}

	/** Steps over any value without building it. */
	skip(): boolean {
		this.#space();
		const first = this.text[this.at];
		if (first === '"') return this.#stringStart() !== undefined;
		if (first === "{" || first === "[") return this.#skipNested();
		const start = this.at;
		while (this.at < this.text.length && !VALUE_END.has(this.text[this.at] as string)) this.at += 1;
		return this.at > start;
	}

	#space(): void {
		while (SPACE.has(this.text[this.at] ?? "")) this.at += 1;
	}

	/** Moves past a string token; its start, or undefined if none is here or it never ends. */
	#stringStart(): number | undefined {
		if (!this.take('"')) return undefined;
		const start = this.at - 1;
		for (let i = this.at; i < this.text.length; i += 1) {
			const char = this.text[i];
			if (char === "\\") i += 1;
			else if (char === '"') {
				this.at = i + 1;
				return start;
			}
		}
		return undefined;
	}

	#skipNested(): boolean {
		let depth = 0;
		while (this.at < this.text.length) {
			const char = this.text[this.at];
			if (char === '"') {
				if (this.#stringStart() === undefined) return false;
				continue;
			}
			this.at += 1;
			if (char === "{" || char === "[") depth += 1;
			else if ((char === "}" || char === "]") && --depth === 0) return true;
		}
		return false;
	}
}

/** `type` and `data.direction`, or null when the JSON lacks them as a relay CloudEvent has them. */
export function readEventHead(json: string): EventHead | null {
	const cursor = new Cursor(json);
	let type: string | undefined;
	let direction: string | null | undefined;
	const done = () => type !== undefined && direction !== undefined;
	const read = cursor.members((key) => {
		if (key === "type") {
			type = cursor.string();
			return type !== undefined;
		}
		if (key !== "data") return cursor.skip();
		return cursor.members((dataKey) => {
			if (dataKey !== "direction") return cursor.skip();
			direction = cursor.nullableString();
			return direction !== undefined;
		}, done);
	}, done);
	return read && type !== undefined && direction !== undefined ? { type, direction } : null;
}

/**
 * `data.receivedAt`, where a first try is filed (src/db/attempts.repository.ts), or null when the
 * JSON lacks it. It comes after the text, so a long text is stepped over, never copied.
 */
export function readReceivedAt(json: string): string | null {
	const cursor = new Cursor(json);
	let receivedAt: string | null | undefined;
	const done = () => receivedAt !== undefined;
	cursor.members((key) => {
		if (key !== "data") return cursor.skip();
		return cursor.members((dataKey) => {
			if (dataKey !== "receivedAt") return cursor.skip();
			receivedAt = cursor.nullableString();
			return receivedAt !== undefined;
		}, done);
	}, done);
	return receivedAt ?? null;
}

/** `subject` of a relay CloudEvent (its message id), read in place; null when it has none. */
export function readEventSubject(json: string): string | null {
	const cursor = new Cursor(json);
	let subject: string | undefined;
	cursor.members(
		(key) => {
			if (key !== "subject") return cursor.skip();
			subject = cursor.string();
			return subject !== undefined;
		},
		() => subject !== undefined,
	);
	return subject ?? null;
}
