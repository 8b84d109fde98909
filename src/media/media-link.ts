/*
 * Media links: `/media/<messageId>/<index>?exp=<unix seconds>&sig=<base64url HMAC-SHA256>` over
 * "<key>\n<exp>". The key is MEDIA_URL_SECRET's bytes; without it, HMAC(first FORWARD_SIGNING_SECRET
 * key, "bandwidth-relay media links"), so a relay works out of the box while a link's signature
 * reveals nothing about the key that signs its forwards. Rotating that secret (or setting
 * MEDIA_URL_SECRET) ends the links minted before; GET /v1/media/:messageId mints new ones.
 */

import { signingKeyBytes } from "../forward/webhook-request";
import { fromBase64url, toBase64url } from "../http/base64url";

const encoder = new TextEncoder();
const DERIVATION_LABEL = "bandwidth-relay media links";
const keys = new Map<string, Promise<CryptoKey>>();

export interface LinkSecret {
	linkSecret: string | null;
	forwardSecret: string | null;
}

const hmacKey = (raw: BufferSource, usages: Array<"sign" | "verify">) =>
	crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, usages);

async function deriveKey(secret: LinkSecret): Promise<CryptoKey> {
	if (secret.linkSecret !== null) return hmacKey(encoder.encode(secret.linkSecret), ["sign", "verify"]);
	const forward = secret.forwardSecret as string;
	const raw = signingKeyBytes(forward);
	const derived = await crypto.subtle.sign("HMAC", await hmacKey(raw, ["sign"]), encoder.encode(DERIVATION_LABEL));
	return hmacKey(derived, ["sign", "verify"]);
}

/** Null when neither secret is set: no link can be minted or checked. */
function keyFor(secret: LinkSecret): Promise<CryptoKey> | null {
	if (secret.linkSecret === null && secret.forwardSecret === null) return null;
	const id = `${secret.linkSecret ?? ""}\n${secret.forwardSecret ?? ""}`;
	let key = keys.get(id);
	if (key === undefined) {
		key = deriveKey(secret);
		keys.set(id, key);
	}
	return key;
}

const signed = (key: string, exp: number) => encoder.encode(`${key}\n${exp}`);

function mediaPath(key: string): string {
	return `/media/${key.split("/").map(encodeURIComponent).join("/")}`;
}

/** An absolute link to the copy under `key`, valid until `exp` (unix seconds); null without a secret. */
export async function mintLink(secret: LinkSecret, base: string, key: string, exp: number): Promise<string | null> {
	const cryptoKey = keyFor(secret);
	if (cryptoKey === null) return null;
	const sig = toBase64url(new Uint8Array(await crypto.subtle.sign("HMAC", await cryptoKey, signed(key, exp))));
	return `${base}${mediaPath(key)}?exp=${exp}&sig=${sig}`;
}

export type LinkCheck = "valid" | "expired" | "bad_signature";

export async function checkLink(
	secret: LinkSecret,
	key: string,
	exp: string | undefined,
	sig: string | undefined,
	now = Date.now(),
): Promise<LinkCheck> {
	const cryptoKey = keyFor(secret);
	if (cryptoKey === null || exp === undefined || sig === undefined || !/^\d{1,12}$/.test(exp)) return "bad_signature";
	if (!/^[A-Za-z0-9_-]{43}$/.test(sig)) return "bad_signature";
	// verify() compares in constant time.
	const ok = await crypto.subtle.verify("HMAC", await cryptoKey, fromBase64url(sig), signed(key, Number(exp)));
	if (!ok) return "bad_signature";
	return Number(exp) * 1000 <= now ? "expired" : "valid";
}
