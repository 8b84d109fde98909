import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { eventIdOf } from "../../src/bandwidth/event-id";
import { TEST_ENV } from "../setup/test-env";
import { postCallback } from "./callback";
import type { BandwidthElement } from "./fixtures";
import { waitForEvents } from "./storage";

export const RELAY_URL = "https://relay.test";

/** A request to the relay with the admin token, unless `token` says otherwise (null: no header). */
export function adminFetch(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
	const { token = TEST_ENV.ADMIN_TOKEN, ...rest } = init;
	const headers = new Headers(rest.headers);
	if (token !== null) headers.set("authorization", `Bearer ${token}`);
	return exports.default.fetch(`${RELAY_URL}${path}`, { ...rest, headers });
}

export async function adminGet<T>(path: string): Promise<T> {
	const response = await adminFetch(path);
	expect(response.status, `GET ${path}: ${await response.clone().text()}`).toBe(200);
	return response.json<T>();
}

export function adminPost(path: string, body?: unknown): Promise<Response> {
	return adminFetch(path, {
		method: "POST",
		headers: { "content-type": "application/json" },
		body: body === undefined ? null : JSON.stringify(body),
	});
}

export function eventIdOfElement(element: BandwidthElement): Promise<string> {
	return eventIdOf({ type: element.type, messageId: element.message.id, to: element.to, time: element.time });
}

/** Posts elements as one real callback and waits until the ledgers have drained them all to D1. */
export async function storeElements(elements: readonly BandwidthElement[]): Promise<string[]> {
	const response = await postCallback(elements);
	expect(response.status).toBe(200);
	const perMessage = new Map<string, number>();
	for (const { message } of elements) perMessage.set(message.id, (perMessage.get(message.id) ?? 0) + 1);
	await Promise.all([...perMessage].map(([messageId, count]) => waitForEvents(messageId, count)));
	return Promise.all(elements.map(eventIdOfElement));
}
