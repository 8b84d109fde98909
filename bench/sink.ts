import { Worker } from "node:worker_threads";

/** The main-thread handle on the sink thread (sink-thread.ts). */

/** floor and relay: the load scenarios; fan-b and fan-c: the relay's two extra destinations (fan-out.ts). */
export const SINK_PATHS = ["floor", "relay", "fan-b", "fan-c"] as const;
export type SinkPath = (typeof SINK_PATHS)[number];
export type Arrival = { first: number; count: number };
export type SinkCounts = Record<SinkPath, { total: number; unique: number }> & {
	/** Requests without a known path or key: should stay 0. */
	unkeyed: number;
};
export interface SignedSample {
	body: string;
	headers: Record<string, string>;
}

export type SinkRequest =
	| { id: number; op: "reset" }
	| { id: number; op: "counts" }
	| { id: number; op: "arrivals"; path: SinkPath }
	| { id: number; op: "samples" };

export type SinkReply =
	| { id: number; op: "reset" }
	| { id: number; op: "counts"; counts: SinkCounts }
	| { id: number; op: "arrivals"; arrivals: [string, Arrival][] }
	| { id: number; op: "samples"; samples: SignedSample[] };

type Pending = (reply: SinkReply) => void;
type Distribute<T> = T extends unknown ? Omit<T, "id"> : never;

export interface Sink {
	url: (path: SinkPath) => string;
	reset: () => Promise<void>;
	counts: () => Promise<SinkCounts>;
	arrivals: (path: SinkPath) => Promise<Map<string, Arrival>>;
	samples: () => Promise<SignedSample[]>;
	close: () => Promise<void>;
}

export async function startSink(port: number): Promise<Sink> {
	const worker = new Worker(new URL("./sink-thread.ts", import.meta.url), { workerData: { port } });
	const pending = new Map<number, Pending>();
	let nextId = 0;
	await new Promise<void>((resolve, reject) => {
		worker.once("error", reject);
		worker.on("message", (message: SinkReply | { op: "listening" }) => {
			if (message.op === "listening") return resolve();
			pending.get(message.id)?.(message);
			pending.delete(message.id);
		});
	});

	function ask(request: Distribute<SinkRequest>): Promise<SinkReply> {
		nextId += 1;
		const id = nextId;
		return new Promise((resolve) => {
			pending.set(id, resolve);
			worker.postMessage({ ...request, id });
		});
	}

	return {
		url: (path) => `http://127.0.0.1:${port}/${path}`,
		reset: async () => {
			await ask({ op: "reset" });
		},
		counts: async () => ((await ask({ op: "counts" })) as Extract<SinkReply, { op: "counts" }>).counts,
		arrivals: async (path) =>
			new Map(((await ask({ op: "arrivals", path })) as Extract<SinkReply, { op: "arrivals" }>).arrivals),
		samples: async () => ((await ask({ op: "samples" })) as Extract<SinkReply, { op: "samples" }>).samples,
		close: async () => {
			await worker.terminate();
		},
	};
}
