/*
 * Standard Webhooks signatures: HMAC-SHA256 over "id.timestamp.body", keyed with the base64 part of
 * a `whsec_` secret, sent as "v1,<base64>". Several secrets give several signatures, so a customer
 * can rotate without a window in which valid events fail verification.
 */
const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function keyFor(secret: string): Promise<CryptoKey> {
	let key = keys.get(secret);
	if (key === undefined) {
		const raw = Uint8Array.from(atob(secret.slice("whsec_".length)), (char) => char.charCodeAt(0));
		key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
		keys.set(secret, key);
	}
	return key;
}

function toBase64(bytes: ArrayBuffer): string {
	return btoa(String.fromCharCode(...new Uint8Array(bytes)));
}

export async function signWebhook(
	secrets: readonly string[],
	id: string,
	timestamp: number,
	body: string,
): Promise<string> {
	const content = encoder.encode(`${id}.${timestamp}.${body}`);
	const signatures = await Promise.all(
		secrets.map(async (secret) => `v1,${toBase64(await crypto.subtle.sign("HMAC", await keyFor(secret), content))}`),
	);
	return signatures.join(" ");
}
