import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/*
 * A downstream that is down until the test says otherwise: in front of the recording sink, it
 * answers 503 to everything until recover(), then passes every request through unchanged. The test
 * decides when to recover (after every event was refused at least once), so the outage hits the
 * same traffic on a fast machine and on a loaded CI runner.
 */

export interface GateAttempt {
	webhookId: string | undefined;
	at: number;
	/** What the relay got back: 503 from the gate, or the sink's answer. */
	status: number;
}

export interface OutageGate {
	url: string;
	attempts: GateAttempt[];
	/** Ends the outage; from now on requests reach the sink. */
	recover(): void;
	close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
	const parts: Buffer[] = [];
	for await (const part of request) parts.push(part as Buffer);
	return Buffer.concat(parts);
}

export async function startOutageGate(target: string): Promise<OutageGate> {
	const attempts: GateAttempt[] = [];
	let down = true;

	const server = createServer(async (request, response) => {
		const body = await readBody(request);
		const at = Date.now();
		const webhookId = request.headers["webhook-id"] as string | undefined;
		if (down) {
			attempts.push({ webhookId, at, status: 503 });
			response.writeHead(503, { "content-type": "application/json" });
			response.end('{"error":"maintenance"}');
			return;
		}
		const headers = Object.fromEntries(
			Object.entries(request.headers).filter(([name]) => !["host", "connection", "content-length"].includes(name)),
		) as Record<string, string>;
		const passed = await fetch(target, { method: request.method ?? "POST", headers, body });
		attempts.push({ webhookId, at, status: passed.status });
		response.writeHead(passed.status);
		response.end(Buffer.from(await passed.arrayBuffer()));
	});

	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(0, "127.0.0.1", resolve);
	});
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}/events`,
		attempts,
		recover: () => {
			down = false;
		},
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
