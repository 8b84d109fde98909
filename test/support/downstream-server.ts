import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createMediaHost, type MediaHostCredentials } from "../../scripts/lib/media-host.ts";
import type { DownstreamStats, RecordedRequest, ScriptedResponse } from "./downstream-types";

/*
 * The customer's endpoint in tests: records every request it receives and answers each path (or
 * one event id on a path) with a scripted sequence of responses, then 204. Control routes live
 * under /__ . Each path also keeps a gauge of its open requests and their bytes, so a test can see
 * how much the relay had in flight at once.
 */

async function readBody(request: IncomingMessage, onChunk: (bytes: number) => void = () => {}): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of request) {
		chunks.push(chunk as Buffer);
		onChunk((chunk as Buffer).byteLength);
	}
	return Buffer.concat(chunks).toString("utf8");
}

function emptyStats(): DownstreamStats {
	return { requests: 0, inFlight: 0, peakInFlight: 0, bytesInFlight: 0, peakBytesInFlight: 0, aborted: 0 };
}

/** Counts one request on its path's gauge from its arrival until its answer is sent or abandoned. */
function gaugeRequest(stats: DownstreamStats, response: ServerResponse): (bytes: number) => void {
	let held = 0;
	let open = true;
	stats.requests += 1;
	stats.inFlight += 1;
	stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight);
	const end = (aborted: boolean) => {
		if (!open) return;
		open = false;
		stats.inFlight -= 1;
		stats.bytesInFlight -= held;
		if (aborted) stats.aborted += 1;
	};
	// "finish" when the answer is handed to the socket: before the client can read it and send more.
	response.once("finish", () => end(false));
	response.once("close", () => end(!response.writableFinished));
	return (bytes) => {
		held += bytes;
		stats.bytesInFlight += bytes;
		stats.peakBytesInFlight = Math.max(stats.peakBytesInFlight, stats.bytesInFlight);
	};
}

/** `bytes` of "x" in 64 KB chunks, each written once the client has taken the last; then held open. */
function streamBody(response: ServerResponse, bytes: number, holdOpenMs: number): void {
	const chunk = Buffer.alloc(64 * 1024, "x");
	let left = bytes;
	const pump = () => {
		while (left > 0 && !response.destroyed) {
			const part = left >= chunk.byteLength ? chunk : chunk.subarray(0, left);
			left -= part.byteLength;
			if (!response.write(part)) return void response.once("drain", pump);
		}
		if (response.destroyed) return;
		const end = setTimeout(() => response.end(), holdOpenMs);
		response.once("close", () => clearTimeout(end));
	};
	pump();
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
	response.writeHead(status, { "content-type": "application/json" });
	response.end(JSON.stringify(value));
}

/**
 * With `media`, unscripted requests on Bandwidth's media and token paths are answered by the local
 * stand-in for Bandwidth (scripts/lib/media-host.ts); a script on such a path still wins.
 */
export async function startDownstream(
	port = 0,
	media?: MediaHostCredentials,
): Promise<{ port: number; close: () => Promise<void> }> {
	const mediaHost = media === undefined ? null : createMediaHost(media);
	let recorded: RecordedRequest[] = [];
	const scripts = new Map<string, ScriptedResponse[]>();
	const stats = new Map<string, DownstreamStats>();
	const statsOf = (path: string) => {
		const existing = stats.get(path);
		if (existing !== undefined) return existing;
		const fresh = emptyStats();
		stats.set(path, fresh);
		return fresh;
	};

	const server = createServer(async (request, response) => {
		const url = new URL(request.url ?? "/", "http://downstream");
		const control = url.pathname.startsWith("/__");
		const body = await readBody(request, control ? undefined : gaugeRequest(statsOf(url.pathname), response));
		if (url.pathname === "/__stats") {
			return sendJson(response, 200, stats.get(url.searchParams.get("path") ?? "/hook") ?? emptyStats());
		}
		if (url.pathname === "/__requests") {
			const path = url.searchParams.get("path");
			return sendJson(response, 200, path === null ? recorded : recorded.filter((r) => r.path === path));
		}
		if (url.pathname === "/__script" && request.method === "POST") {
			const contains = url.searchParams.get("bodyContains");
			const key = `${url.searchParams.get("path") ?? "/hook"}#${contains === null ? (url.searchParams.get("webhookId") ?? "") : `~${contains}`}`;
			scripts.set(key, JSON.parse(body) as ScriptedResponse[]);
			return sendJson(response, 200, { ok: true });
		}
		if (url.pathname === "/__reset" && request.method === "POST") {
			recorded = [];
			scripts.clear();
			stats.clear();
			return sendJson(response, 200, { ok: true });
		}
		const headers = Object.fromEntries(
			Object.entries(request.headers).map(([name, value]) => [
				name,
				Array.isArray(value) ? value.join(", ") : (value ?? ""),
			]),
		);
		// A script for this event id, or for bodies holding a text, wins over the script for the whole path.
		const byContent = [...scripts.entries()].find(
			([key, queued]) =>
				key.startsWith(`${url.pathname}#~`) && queued.length > 0 && body.includes(key.slice(key.indexOf("#~") + 2)),
		);
		const next =
			scripts.get(`${url.pathname}#${headers["webhook-id"] ?? ""}`)?.shift() ??
			byContent?.[1].shift() ??
			scripts.get(`${url.pathname}#`)?.shift();
		const kept = next?.recordBody === false ? "" : body;
		recorded.push({ path: url.pathname, method: request.method ?? "", headers, body: kept, at: Date.now() });
		if (next?.delayMs) await new Promise((resolve) => setTimeout(resolve, next.delayMs));
		if (response.destroyed) return;
		const standIn =
			next === undefined ? mediaHost?.answer(request.method ?? "", url, headers.authorization ?? "", body) : null;
		if (standIn) {
			if (standIn.delayMs) await new Promise((resolve) => setTimeout(resolve, standIn.delayMs));
			if (response.destroyed) return;
			response.writeHead(standIn.status, standIn.headers);
			response.end(standIn.body);
			return;
		}
		response.writeHead(next?.status ?? 204, next?.headers ?? {});
		if (next?.streamBytes !== undefined) return streamBody(response, next.streamBytes, next.holdOpenMs ?? 0);
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
