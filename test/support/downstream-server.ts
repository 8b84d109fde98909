import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { RecordedRequest, ScriptedResponse } from "./downstream-types";

/*
 * The customer's endpoint in tests: records every request it receives and answers each path (or
 * one event id on a path) with a scripted sequence of responses, then 204. Control routes live
 * under /__ .
 */

async function readBody(request: IncomingMessage): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of request) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks).toString("utf8");
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
	response.writeHead(status, { "content-type": "application/json" });
	response.end(JSON.stringify(value));
}

export async function startDownstream(port = 0): Promise<{ port: number; close: () => Promise<void> }> {
	let recorded: RecordedRequest[] = [];
	const scripts = new Map<string, ScriptedResponse[]>();

	const server = createServer(async (request, response) => {
		const url = new URL(request.url ?? "/", "http://downstream");
		const body = await readBody(request);
		if (url.pathname === "/__requests") {
			const path = url.searchParams.get("path");
			return sendJson(response, 200, path === null ? recorded : recorded.filter((r) => r.path === path));
		}
		if (url.pathname === "/__script" && request.method === "POST") {
			const key = `${url.searchParams.get("path") ?? "/hook"}#${url.searchParams.get("webhookId") ?? ""}`;
			scripts.set(key, JSON.parse(body) as ScriptedResponse[]);
			return sendJson(response, 200, { ok: true });
		}
		if (url.pathname === "/__reset" && request.method === "POST") {
			recorded = [];
			scripts.clear();
			return sendJson(response, 200, { ok: true });
		}
		const headers = Object.fromEntries(
			Object.entries(request.headers).map(([name, value]) => [
				name,
				Array.isArray(value) ? value.join(", ") : (value ?? ""),
			]),
		);
		recorded.push({ path: url.pathname, method: request.method ?? "", headers, body, at: Date.now() });
		// A script for this event id wins over the script for the whole path.
		const next =
			scripts.get(`${url.pathname}#${headers["webhook-id"] ?? ""}`)?.shift() ??
			scripts.get(`${url.pathname}#`)?.shift();
		if (next?.delayMs) await new Promise((resolve) => setTimeout(resolve, next.delayMs));
		if (response.destroyed) return;
		response.writeHead(next?.status ?? 204, next?.headers ?? {});
		response.end(next?.body ?? "");
	});

	await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
	return {
		port: (server.address() as AddressInfo).port,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
