const encoder = new TextEncoder();
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
const ID_LENGTH = 26;

/** Lowercase, unpadded RFC 4648 base32 of the leading bytes, `length` characters long. */
function base32(bytes: Uint8Array, length: number): string {
	let out = "";
	let buffer = 0;
	let bits = 0;
	for (const byte of bytes) {
		buffer = (buffer << 8) | byte;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out += BASE32[(buffer >>> bits) & 31];
			if (out.length === length) return out;
		}
		buffer &= (1 << bits) - 1;
	}
	return out;
}

async function digest(text: string): Promise<Uint8Array> {
	return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * JSON with every object's keys sorted: the same element, whatever order its keys arrived in,
 * gives the same text. The caller has bounded the nesting depth (ingest/nesting.ts).
 */
export function canonicalJson(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
	if (typeof value === "object" && value !== null) {
		const object = value as Record<string, unknown>;
		const entries = Object.keys(object)
			.sort()
			.map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`);
		return `{${entries.join(",")}}`;
	}
	return JSON.stringify(value);
}

/**
 * Bandwidth events carry no id of their own (DESIGN §4). This one is derived from the fields that
 * tell two events apart, exactly as received, so a retried callback maps to the same id forever.
 *
 * Every known type has an envelope `to` and `time` (the schemas require them). An element of an
 * unknown type may lack either, and then (type, message id) alone would make every later event of
 * that message a "duplicate" of the first: the whole element, canonicalized, is hashed in too, so
 * only a true repeat of the element gets the same id.
 */
export async function eventIdOf(parts: {
	type: string;
	messageId: string;
	to: string | undefined;
	time: string | undefined;
	/** The element as parsed: hashed in when `to` or `time` is missing, so required for an unknown type. */
	element?: unknown;
}): Promise<string> {
	let key = `${parts.type}\n${parts.messageId}\n${parts.to ?? ""}\n${parts.time ?? ""}`;
	if (parts.to === undefined || parts.time === undefined) key += `\n${canonicalJson(parts.element)}`;
	return `evt_${base32(await digest(key), ID_LENGTH)}`;
}

/** Same scheme for quarantined elements, so a retried bad batch does not pile up copies. */
export async function quarantineIdOf(rawJson: string): Promise<string> {
	return `qtn_${base32(await digest(rawJson), ID_LENGTH)}`;
}
