import { inject } from "vitest";
import type { RecordedRequest, ScriptedResponse } from "../support/downstream-types";

export const downstreamBase = () => `http://127.0.0.1:${inject("downstreamPort")}`;
export const DEFAULT_HOOK_PATH = "/hook";

export function hookUrl(path: string): string {
	return `${downstreamBase()}${path}`;
}

export async function receivedAt(path: string = DEFAULT_HOOK_PATH): Promise<RecordedRequest[]> {
	const response = await fetch(`${downstreamBase()}/__requests?path=${encodeURIComponent(path)}`);
	return response.json();
}

/** The next answers the downstream gives on `path` (or only to requests for one event id). */
export async function scriptResponses(path: string, responses: ScriptedResponse[], webhookId = ""): Promise<void> {
	const query = `path=${encodeURIComponent(path)}&webhookId=${encodeURIComponent(webhookId)}`;
	await fetch(`${downstreamBase()}/__script?${query}`, {
		method: "POST",
		body: JSON.stringify(responses),
	});
}

/** A path of its own for one test, so recordings and scripts do not mix. */
export function freshPath(): string {
	return `/t/${crypto.randomUUID()}`;
}
