import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { createMediaHost, type MediaHostCredentials } from "../../../scripts/lib/media-host.ts";
import type { SinkMode, SinkRecord } from "./sim-sink-types.ts";

/*
 * The customers' endpoints in the simulation: one path per destination (/d/<name>) and /alerts.
 * Unlike the tests' downstream, a path keeps a mode (an outage, a slow endpoint) until the harness
 * changes it, an event can be given its own answer (a 410), and every request is recorded with the
 * answer it got, so a second delivery can be told apart from a retry after a failed answer.
 * Media and token paths are answered by the stand-in for Bandwidth's media host.
 */

async function readBody(request: IncomingMessage): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of request) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks).toString("utf8");
}

export async function startSimSink(media: MediaHostCredentials): Promise<{ port: number; close(): Promise<void> }> {
	const mediaHost = createMediaHost(media);
	let records: SinkRecord[] = [];
	let modes = new Map<string, SinkMode>();
	let perEvent = new Map<string, number>();
	let open = 0;

	const server = createServer(async (request, response) => {
		const url = new URL(request.url ?? "/", "http://sink");
		const body = await readBody(request);
		const json = (status: number, value: unknown) => {
			response.writeHead(status, { "content-type": "application/json" });
			response.end(JSON.stringify(value));
		};
		if (url.pathname === "/__records") return json(200, records);
		if (url.pathname === "/__open") return json(200, { open });
		if (url.pathname === "/__mode" && request.method === "POST") {
			const { path, mode } = JSON.parse(body) as { path: string; mode: SinkMode | null };
			if (mode === null) modes.delete(path);
			else modes.set(path, mode);
			return json(200, { ok: true });
		}
		if (url.pathname === "/__event" && request.method === "POST") {
			const { key, status } = JSON.parse(body) as { key: string; status: number | null };
			if (status === null) perEvent.delete(key);
			else perEvent.set(key, status);
			return json(200, { ok: true });
		}
		if (url.pathname === "/__heal" && request.method === "POST") {
			modes = new Map();
			perEvent = new Map();
			return json(200, { ok: true });
		}
		if (url.pathname === "/__reset" && request.method === "POST") {
			records = [];
			modes = new Map();
			perEvent = new Map();
			return json(200, { ok: true });
		}
		const standIn = mediaHost.answer(request.method ?? "", url, String(request.headers.authorization ?? ""), body);
		if (standIn) {
			response.writeHead(standIn.status, standIn.headers);
			response.end(standIn.body);
			return;
		}
		const eventId = String(request.headers["webhook-id"] ?? "");
		const mode = modes.get(url.pathname);
		const status = perEvent.get(`${url.pathname}#${eventId}`) ?? mode?.status ?? 204;
		const delayMs = mode?.delayMs ?? 0;
		const record: SinkRecord = { path: url.pathname, eventId, status, delayMs, aborted: false, at: Date.now() };
		records.push(record);
		open += 1;
		response.once("close", () => {
			open -= 1;
			if (!response.writableFinished) record.aborted = true;
		});
		if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
		if (response.destroyed) return;
		response.writeHead(status);
		response.end();
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	return {
		port: (server.address() as AddressInfo).port,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
