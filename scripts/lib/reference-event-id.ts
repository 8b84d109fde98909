import { createHash } from "node:crypto";

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/**
 * DESIGN §4's event id, implemented apart from the relay's own code (node:crypto here, Web Crypto
 * there), so the bench and the end-to-end tests can check the webhook-ids the relay forwards.
 */
export function referenceEventId(type: string, messageId: string, to: string | undefined, time: string): string {
	const digest = createHash("sha256")
		.update(`${type}\n${messageId}\n${to ?? ""}\n${time}`, "utf8")
		.digest();
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
