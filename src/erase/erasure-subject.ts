const encoder = new TextEncoder();

export type ErasureKind = "message" | "phone_number";

/**
 * What the audit line and the cursor name an erasure by: the first 16 hex digits of
 * HMAC-SHA256(ADMIN_TOKEN, kind + "\n" + value). Whoever holds the admin token can tell which
 * number or message a line is about by computing it again; a reader of the logs alone cannot,
 * and a phone number, a mere ten digits, cannot be guessed back from an unkeyed hash either.
 */
export async function erasureSubject(
	env: Partial<Pick<Env, "ADMIN_TOKEN">>,
	kind: ErasureKind,
	value: string,
): Promise<string> {
	const key = await crypto.subtle.importKey(
		"raw",
		// The admin API is off without a token; a direct caller still gets a keyed (if public) hash.
		encoder.encode(env.ADMIN_TOKEN || "bandwidth-relay"),
		{ name: "HMAC", hash: "SHA-256" },
		false,
		["sign"],
	);
	const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${kind}\n${value}`)));
	return Array.from(mac.subarray(0, 8), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
