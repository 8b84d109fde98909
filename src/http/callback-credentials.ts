import { timingSafeEqual } from "hono/utils/buffer";
import * as v from "valibot";
import { eachEntry, jsonText } from "../env-vars";

/*
 * Who may post callbacks, and for which Bandwidth applications. BANDWIDTH_CREDENTIALS (a secret)
 * holds several pairs, each optionally limited to application ids, so a credential leaked from one
 * application cannot inject events for another; BANDWIDTH_USERNAME/PASSWORD is one more pair,
 * limited to nothing.
 *
 *   [{"username":"marketing","password":"…","applicationIds":["93de2206-…"]},
 *    {"username":"support","password":"…"}]
 */

/** Bandwidth's application ids are UUIDs; a longer value is not one. */
const MAX_ID_CHARS = 100;

const CredentialSchema = v.strictObject({
	// Basic auth splits user and password at the first colon: a username cannot hold one.
	username: v.pipe(
		v.string("username must be a string"),
		v.nonEmpty("username must not be empty"),
		v.check((name) => !name.includes(":"), "username must not contain ':'"),
	),
	password: v.pipe(v.string("password must be a string"), v.nonEmpty("password must not be empty")),
	applicationIds: v.optional(
		v.pipe(
			v.array(
				v.pipe(
					v.string("applicationIds must hold strings"),
					v.nonEmpty("an application id must not be empty"),
					v.maxLength(MAX_ID_CHARS, `an application id has at most ${MAX_ID_CHARS} characters`),
				),
				"applicationIds must be an array",
			),
			v.nonEmpty("applicationIds must list at least one id (leave it out to allow every application)"),
		),
	),
});

/** The secret's value: a JSON array of credentials, usernames unique. */
export const CallbackCredentialsSchema = v.pipe(
	v.string(),
	jsonText<string>("BANDWIDTH_CREDENTIALS"),
	v.array(v.unknown(), "BANDWIDTH_CREDENTIALS must be a JSON array"),
	v.nonEmpty("BANDWIDTH_CREDENTIALS lists no credential"),
	// A message names the entry and field: BANDWIDTH_CREDENTIALS[1].password.
	eachEntry("BANDWIDTH_CREDENTIALS", CredentialSchema),
	v.check(
		(list) => new Set(list.map((credential) => credential.username)).size === list.length,
		"BANDWIDTH_CREDENTIALS names a username twice",
	),
);

export interface CallbackCredential {
	username: string;
	password: string;
	/** Null: any application. */
	applicationIds: ReadonlySet<string> | null;
}

export function callbackCredentialsOf(
	list: v.InferOutput<typeof CallbackCredentialsSchema> | undefined,
	single: { username: string | undefined; password: string | undefined },
): CallbackCredential[] {
	const credentials: CallbackCredential[] = (list ?? []).map((credential) => ({
		username: credential.username,
		password: credential.password,
		applicationIds: credential.applicationIds === undefined ? null : new Set(credential.applicationIds),
	}));
	if (single.username !== undefined && single.password !== undefined) {
		credentials.push({ username: single.username, password: single.password, applicationIds: null });
	}
	return credentials;
}

/**
 * The credential these are, or null. Every credential is compared, and each comparison is constant
 * time, so the answer's timing says nothing about which username exists.
 */
export async function matchCredential(
	credentials: readonly CallbackCredential[],
	username: string,
	password: string,
): Promise<CallbackCredential | null> {
	let matched: CallbackCredential | null = null;
	for (const credential of credentials) {
		const [user, pass] = await Promise.all([
			timingSafeEqual(credential.username, username),
			timingSafeEqual(credential.password, password),
		]);
		if (user && pass && matched === null) matched = credential;
	}
	return matched;
}

/** The reason an element goes to quarantine when its credential may not post for its application. */
export function outOfScopeReason(applicationId: string | null): string {
	const shown = applicationId === null ? "none" : JSON.stringify(applicationId.slice(0, MAX_ID_CHARS));
	return `message.applicationId: ${shown} is not an application this callback credential may post for (BANDWIDTH_CREDENTIALS)`;
}
