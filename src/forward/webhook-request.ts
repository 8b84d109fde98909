import { utf8Bytes } from "../db/row-size";
import { USER_AGENT } from "../version";

/*
 * Standard Webhooks signatures: HMAC-SHA256 over "id.timestamp.body", keyed with the base64 part of
 * a `whsec_` secret, sent as "v1,<base64>". Several secrets give several signatures, so a customer
 * can rotate without a window in which valid events fail verification.
 *
 * An event can be 1.8 MB. Its UTF-8 is written once, straight into the buffer that is signed, and
 * the POST sends a view of the tail of that same buffer: the bytes signed are the bytes sent, and
 * no second copy of the body (a joined string, a second encoding) is ever made.
 */

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

export interface WebhookRequest {
	headers: Record<string, string>;
	/** The event's UTF-8, a view into the signed content. */
	body: Uint8Array;
}

/** The key bytes of a `whsec_<base64>` secret (checked when the setting is read, src/env-vars.ts). */
export function signingKeyBytes(secret: string): Uint8Array<ArrayBuffer> {
	return Uint8Array.from(atob(secret.slice("whsec_".length)), (char) => char.charCodeAt(0));
}

function keyFor(secret: string): Promise<CryptoKey> {
	let key = keys.get(secret);
	if (key === undefined) {
		key = crypto.subtle.importKey("raw", signingKeyBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
		keys.set(secret, key);
	}
	return key;
}

function toBase64(bytes: ArrayBuffer): string {
	return btoa(String.fromCharCode(...new Uint8Array(bytes)));
}

/**
 * One signed POST of one CloudEvent. `webhook-id` is the event id on every attempt and replay; the
 * timestamp and signature are fresh each time, as Standard Webhooks expects.
 */
export async function webhookRequest(
	signingSecrets: readonly string[],
	eventId: string,
	event: string,
	now = Date.now(),
): Promise<WebhookRequest> {
	const timestamp = Math.floor(now / 1000);
	const prefix = encoder.encode(`${eventId}.${timestamp}.`);
	const content = new Uint8Array(prefix.byteLength + utf8Bytes(event));
	content.set(prefix);
	const body = content.subarray(prefix.byteLength);
	encoder.encodeInto(event, body);
	const signatures = await Promise.all(
		signingSecrets.map(
			async (secret) => `v1,${toBase64(await crypto.subtle.sign("HMAC", await keyFor(secret), content))}`,
		),
	);
	return {
		headers: {
			"content-type": "application/cloudevents+json",
			"user-agent": USER_AGENT,
			"webhook-id": eventId,
			"webhook-timestamp": String(timestamp),
			"webhook-signature": signatures.join(" "),
		},
		body,
	};
}
