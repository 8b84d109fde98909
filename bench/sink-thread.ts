import { createServer } from "node:http";
import { parentPort, workerData } from "node:worker_threads";
import { SINK_PATHS, type SinkCounts, type SinkPath, type SinkReply, type SinkRequest } from "./sink.ts";

/*
 * The downstream for the floor (/floor) and the relay (/relay), in its own thread so the load
 * generator's event loop cannot delay its arrival timestamps. Keys: the `webhook-id` the relay
 * signs with, or the message id the floor's consumer puts in `x-bench-key`.
 */

type Path = SinkPath;
type Arrival = { first: number; count: number };
type Sample = { body: string; headers: Record<string, string> };

const SAMPLES_KEPT = 20;
const arrivals = Object.fromEntries(SINK_PATHS.map((path) => [path, new Map()])) as Record<Path, Map<string, Arrival>>;
const totals = Object.fromEntries(SINK_PATHS.map((path) => [path, 0])) as Record<Path, number>;
let unkeyed = 0;
let samples: Sample[] = [];

function pathOf(url: string | undefined): Path | null {
	return SINK_PATHS.find((path) => url === `/${path}`) ?? null;
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
			for (const path of SINK_PATHS) {
				arrivals[path].clear();
				totals[path] = 0;
			}
			unkeyed = 0;
			samples = [];
			return { id: request.id, op: "reset" };
		case "counts":
			return {
				id: request.id,
				op: "counts",
				counts: {
					...(Object.fromEntries(
						SINK_PATHS.map((path) => [path, { total: totals[path], unique: arrivals[path].size }]),
					) as Record<Path, { total: number; unique: number }>),
					unkeyed,
				} satisfies SinkCounts,
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
