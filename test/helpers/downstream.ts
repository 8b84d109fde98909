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

export async function scriptResponses(path: string, responses: ScriptedResponse[]): Promise<void> {
	await fetch(`${downstreamBase()}/__script?path=${encodeURIComponent(path)}`, {
		method: "POST",
		body: JSON.stringify(responses),
	});
}
