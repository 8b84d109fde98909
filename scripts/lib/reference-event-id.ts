import { createHash } from "node:crypto";

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** The element with every object's keys sorted, no whitespace. */
function canonicalJson(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
	if (typeof value === "object" && value !== null) {
		const object = value as Record<string, unknown>;
		return `{${Object.keys(object)
			.sort()
			.map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`)
			.join(",")}}`;
	}
	return JSON.stringify(value);
}

/**
 * DESIGN §4's event id, implemented apart from the relay's own code (node:crypto here, Web Crypto
 * there), so the bench and the end-to-end tests can check the webhook-ids the relay forwards. An
 * element without an envelope `to` or `time` (only an unknown type can lack them) hashes in the
 * element too.
 */
export function referenceEventId(
	type: string,
	messageId: string,
	to: string | undefined,
	time: string | undefined,
	element?: unknown,
): string {
	let key = `${type}\n${messageId}\n${to ?? ""}\n${time ?? ""}`;
	if (to === undefined || time === undefined) key += `\n${canonicalJson(element)}`;
	const digest = createHash("sha256").update(key, "utf8").digest();
	let bits = 0;
	let buffer = 0;
	let out = "";
	for (const byte of digest) {
		buffer = ((buffer << 8) | byte) & 0xffff;
		bits += 8;
		while (bits >= 5 && out.length < 26) {
			bits -= 5;
			out += BASE32[(buffer >>> bits) & 31];
		}
	}
	return `evt_${out}`;
}
