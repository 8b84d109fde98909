import { exports } from "cloudflare:workers";
import { TEST_ENV } from "../setup/test-env";

export const CALLBACK_URL = "https://relay.test/bandwidth/messaging";

export function basicAuthorization(
	username: string = TEST_ENV.BANDWIDTH_USERNAME,
	password: string = TEST_ENV.BANDWIDTH_PASSWORD,
): string {
	return `Basic ${btoa(`${username}:${password}`)}`;
}

/** POSTs a callback the way Bandwidth does, authenticated unless told otherwise. */
export function postCallback(
	body: unknown,
	options: { authorization?: string | null; headers?: Record<string, string>; raw?: boolean } = {},
): Promise<Response> {
	const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8", ...options.headers };
	const authorization = options.authorization === undefined ? basicAuthorization() : options.authorization;
	if (authorization !== null) headers.authorization = authorization;
	return exports.default.fetch(CALLBACK_URL, {
		method: "POST",
		headers,
		body: options.raw ? (body as BodyInit) : JSON.stringify(body),
	});
}
