import { inject, vi } from "vitest";
import type { DownstreamStats, RecordedRequest, ScriptedResponse } from "../support/downstream-types";
import { BACKGROUND_WAIT_MS } from "./wait";

export const downstreamBase = () => `http://127.0.0.1:${inject("downstreamPort")}`;
export const DEFAULT_HOOK_PATH = "/hook";

export function hookUrl(path: string): string {
	return `${downstreamBase()}${path}`;
}

export async function receivedAt(path: string = DEFAULT_HOOK_PATH): Promise<RecordedRequest[]> {
	const response = await fetch(`${downstreamBase()}/__requests?path=${encodeURIComponent(path)}`);
	return response.json();
}

/** How many requests `path` has had at once, and how many bytes, as the downstream counts them. */
export async function statsOf(path: string): Promise<DownstreamStats> {
	const response = await fetch(`${downstreamBase()}/__stats?path=${encodeURIComponent(path)}`);
	return response.json();
}

/**
 * The next answers the downstream gives on `path` (or only to requests for one event id, or only to
 * requests whose body contains a text: `{ bodyContains }`).
 */
export async function scriptResponses(
	path: string,
	responses: ScriptedResponse[],
	only: string | { bodyContains: string } = "",
): Promise<void> {
	const filter =
		typeof only === "string"
			? `webhookId=${encodeURIComponent(only)}`
			: `bodyContains=${encodeURIComponent(only.bodyContains)}`;
	const query = `path=${encodeURIComponent(path)}&${filter}`;
	await fetch(`${downstreamBase()}/__script?${query}`, {
		method: "POST",
		body: JSON.stringify(responses),
	});
}

/** A path of its own for one test, so recordings and scripts do not mix. */
export function freshPath(): string {
	return `/t/${crypto.randomUUID()}`;
}

/** Waits until the downstream has received `count` POSTs of one event (its webhook-id) on `path`. */
export async function waitForForwarded(
	eventId: string,
	path: string = DEFAULT_HOOK_PATH,
	count = 1,
	timeout = BACKGROUND_WAIT_MS,
): Promise<RecordedRequest[]> {
	return vi.waitUntil(
		async () => {
			const hits = (await receivedAt(path)).filter((request) => request.headers["webhook-id"] === eventId);
			return hits.length >= count ? hits : undefined;
		},
		{ timeout, interval: 20 },
	);
}

/**
 * Waits until the downstream has received every one of `eventIds` at least once on `path`, with one
 * read of the recordings per poll (many waitForForwarded at once would each read them all).
 */
export async function waitForAllForwarded(
	eventIds: readonly string[],
	path: string = DEFAULT_HOOK_PATH,
	timeout = BACKGROUND_WAIT_MS,
): Promise<RecordedRequest[]> {
	const wanted = new Set(eventIds);
	return vi.waitUntil(
		async () => {
			const hits = (await receivedAt(path)).filter((request) => wanted.has(request.headers["webhook-id"] ?? ""));
			const seen = new Set(hits.map((request) => request.headers["webhook-id"]));
			return seen.size === wanted.size ? hits : undefined;
		},
		{ timeout, interval: 20 },
	);
}
