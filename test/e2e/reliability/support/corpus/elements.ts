import { messageIdAt } from "../../../../../scripts/simulate/bandwidth-payloads.ts";
import type { Random } from "../../../../../scripts/simulate/random.ts";
import { type Element, sample } from "../traffic.ts";
import { MARKER } from "./model.ts";

/*
 * Valid elements to break: Bandwidth's samples with a fresh message id and a marker field naming
 * the case (an unknown field, which the relay keeps and ignores), so each quarantine row and stored
 * event can be traced back to the case that sent it.
 */

export type Template = "failed" | "received" | "unknown";

export class ElementFactory {
	#clock = Date.UTC(2026, 0, 1);
	readonly random: Random;
	constructor(random: Random) {
		this.random = random;
	}

	messageId(): string {
		this.#clock += 1;
		return messageIdAt(this.random, this.#clock);
	}

	/** A valid element: an outbound failure (with errorCode), an inbound SMS, or a type the relay does not know. */
	element(template: Template, marker: string): Element {
		const element =
			template === "failed" ? sample("failed") : template === "received" ? sample("inboundSms") : sample("sent");
		if (template === "unknown") element.type = "message-exploded";
		element.message.id = this.messageId();
		element[MARKER] = marker;
		return element;
	}
}

/** The value at `path` replaced (or removed, for `undefined`); returns the element for chaining. */
export function setPath<T extends object>(element: T, path: readonly string[], value: unknown): T {
	let node = element as Record<string, unknown>;
	for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
	const last = path[path.length - 1] as string;
	if (value === undefined) delete node[last];
	else defineKey(node, last, value);
	return element;
}

/** An own, enumerable property even for "__proto__", as JSON.parse creates it. */
export function defineKey(target: object, key: string, value: unknown): void {
	Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** An object literal whose keys may include "__proto__" and stay own properties. */
export function objectOf(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
	const object: Record<string, unknown> = {};
	for (const [key, value] of entries) defineKey(object, key, value);
	return object;
}

/** `depth` levels of nesting: arrays `[[…]]` or objects `{"a":{…}}`, as JSON text. */
export function nestedText(depth: number, kind: "array" | "object", leaf = "1"): string {
	return kind === "array"
		? `${"[".repeat(depth)}${leaf}${"]".repeat(depth)}`
		: `${'{"a":'.repeat(depth)}${leaf}${"}".repeat(depth)}`;
}

/** `levels` nested objects as a value. */
export function nestedValue(levels: number): unknown {
	let value: unknown = "bottom";
	for (let i = 0; i < levels; i++) value = { a: value };
	return value;
}

/** A string of exactly `byteLength` UTF-8 bytes from `unit` (1–4 bytes each) and ASCII padding. */
export function filler(byteLength: number, unit = "x"): string {
	const unitBytes = Buffer.byteLength(unit);
	const units = Math.floor(byteLength / unitBytes);
	return unit.repeat(units) + "y".repeat(byteLength - units * unitBytes);
}

/** The element's JSON with its text stretched so the whole array body is exactly `bodyBytes` long. */
export function bodyOfSize(element: Element, bodyBytes: number, unit = "x"): string {
	element.message.text = "";
	const bare = Buffer.byteLength(JSON.stringify([element]));
	if (bodyBytes < bare) throw new Error(`a ${bodyBytes}-byte body cannot hold this element (${bare} bytes)`);
	element.message.text = filler(bodyBytes - bare, unit);
	const body = JSON.stringify([element]);
	if (Buffer.byteLength(body) !== bodyBytes) throw new Error("filler must be JSON-safe");
	return body;
}
