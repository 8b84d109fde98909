import { createServer } from "node:http";
import { parentPort, workerData } from "node:worker_threads";
import type { SinkReply, SinkRequest } from "./sink.ts";

/*
 * The downstream for the floor (/floor) and the relay (/relay), in its own thread so the load
 * generator's event loop cannot delay its arrival timestamps. Keys: the `webhook-id` the relay
 * signs with, or the message id the floor's consumer puts in `x-bench-key`.
 */

type Path = "floor" | "relay";
type Arrival = { first: number; count: number };
type Sample = { body: string; headers: Record<string, string> };

const SAMPLES_KEPT = 20;
const arrivals: Record<Path, Map<string, Arrival>> = { floor: new Map(), relay: new Map() };
const totals: Record<Path, number> = { floor: 0, relay: 0 };
let unkeyed = 0;
let samples: Sample[] = [];

function pathOf(url: string | undefined): Path | null {
	if (url === "/floor") return "floor";
	if (url === "/relay") return "relay";
	return null;
}

const server = createServer((request, response) => {
	const chunks: Buffer[] = [];
	request.on("data", (chunk: Buffer) => chunks.push(chunk));
	request.on("end", () => {
		const at = performance.timeOrigin + performance.now();
		const path = pathOf(request.url);
		const key = request.headers["webhook-id"] ?? request.headers["x-bench-key"];
		if (path === null || typeof key !== "string") {
			unkeyed += 1;
		} else {
			totals[path] += 1;
			const seen = arrivals[path].get(key);
			if (seen === undefined) arrivals[path].set(key, { first: at, count: 1 });
			else seen.count += 1;
			if (path === "relay" && samples.length < SAMPLES_KEPT) {
				const headers = Object.fromEntries(
					Object.entries(request.headers).map(([name, value]) => [name, String(value)]),
				);
				samples.push({ body: Buffer.concat(chunks).toString("utf8"), headers });
			}
		}
		response.writeHead(204);
		response.end();
	});
});

function reply(request: SinkRequest): SinkReply {
	switch (request.op) {
		case "reset":
			arrivals.floor.clear();
			arrivals.relay.clear();
			totals.floor = 0;
			totals.relay = 0;
			unkeyed = 0;
			samples = [];
			return { id: request.id, op: "reset" };
		case "counts":
			return {
				id: request.id,
				op: "counts",
				counts: {
					floor: { total: totals.floor, unique: arrivals.floor.size },
					relay: { total: totals.relay, unique: arrivals.relay.size },
					unkeyed,
				},
			};
		case "arrivals":
			return { id: request.id, op: "arrivals", arrivals: [...arrivals[request.path]] };
		case "samples":
			return { id: request.id, op: "samples", samples };
	}
}

parentPort!.on("message", (request: SinkRequest) => parentPort!.postMessage(reply(request)));
server.keepAliveTimeout = 60_000;
server.listen(workerData.port as number, "127.0.0.1", () => parentPort!.postMessage({ op: "listening" }));
