import { DurableObject } from "cloudflare:workers";
import { DEFAULT_BUCKET_SCHEDULE } from "../../src/ledger/bucket-schedule";
import { bucketNameIn } from "../../src/ledger/ledger-client";
import { meter } from "../../src/meter/meter";
import { meterReading } from "../../src/meter/meter-reading";
import { meteredHandler } from "../../src/meter/metered-handler";
import { MeteredStorage } from "../../src/meter/metered-storage";

/*
 * The job floor (BENCHMARKS.md): the least any design doing this job pays per event, with no logic
 * at all. Per callback: one Worker request; parse; per event one row in a ledger bucket holding its
 * key (for de-duplication: an INSERT OR IGNORE on a WITHOUT ROWID primary key, one row written) and
 * its body (compressed, as any design keeping a bucket under its 10 GB would), the messages hashed
 * over the relay's default 64 buckets, one accept call per bucket a callback touches and the table
 * created once per bucket; one D1 batch with one INSERT per event into a table without secondary
 * indexes; one queue message per event (send, then the consumer's read and delete); then 200. Its
 * consumer POSTs each event to the sink. The three writes run in parallel, which makes the
 * floor's latency the lowest a design waiting for all three can reach.
 *
 * It is metered like the relay (src/meter): the same binding wrappers, its buckets' requests, rows
 * and bytes counted here, and its counts at GET /__meter (POST /__meter/reset), so the bench prices
 * both per event. It writes no log lines and no Analytics Engine points.
 */

interface FloorEnv {
	FLOOR_DB: D1Database;
	FLOOR_LEDGER: DurableObjectNamespace<FloorLedger>;
	FLOOR_QUEUE: Queue<FloorEvent>;
	SINK_URL: string;
}

type FloorEvent = { type?: string; to?: string; time?: string; message: { id: string } } & Record<string, unknown>;
type FloorRow = { key: string; body: ArrayBuffer };

/** Cloudflare Queues: at most 100 messages per sendBatch. */
const QUEUE_BATCH_MAX = 100;

const SCHEMA = "CREATE TABLE IF NOT EXISTS events (key TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID";

export class FloorLedger extends DurableObject<FloorEnv> {
	readonly #storage: MeteredStorage;

	constructor(ctx: DurableObjectState, env: FloorEnv) {
		super(ctx, env);
		this.#storage = new MeteredStorage(ctx.storage);
		this.#storage.run(SCHEMA);
	}

	insert(rows: FloorRow[]): void {
		meter.add("doRequests");
		for (const row of rows)
			this.#storage.run("INSERT OR IGNORE INTO events (key, body) VALUES (?, ?)", row.key, row.body);
	}
}

function eventsOf(body: unknown): FloorEvent[] {
	return (Array.isArray(body) ? body : [body]) as FloorEvent[];
}

/** What identifies an event (the relay hashes the same four fields). */
function keyOf(event: FloorEvent): string {
	return `${event.type ?? ""}\n${event.message.id}\n${event.to ?? ""}\n${event.time ?? ""}`;
}

async function deflate(text: string): Promise<ArrayBuffer> {
	return new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("deflate-raw"))).arrayBuffer();
}

async function sendAll(queue: Queue<FloorEvent>, events: readonly FloorEvent[]): Promise<void> {
	for (let start = 0; start < events.length; start += QUEUE_BATCH_MAX) {
		const chunk = events.slice(start, start + QUEUE_BATCH_MAX);
		await queue.sendBatch(chunk.map((event) => ({ body: event, contentType: "json" as const })));
	}
}

async function storeInBuckets(
	namespace: FloorEnv["FLOOR_LEDGER"],
	events: readonly FloorEvent[],
	bodies: readonly string[],
) {
	const rows = await Promise.all(
		events.map(async (event, i) => ({ event, row: { key: keyOf(event), body: await deflate(bodies[i]!) } })),
	);
	const buckets = Map.groupBy(rows, ({ event }) => bucketNameIn(DEFAULT_BUCKET_SCHEDULE, event.message.id));
	await Promise.all([...buckets].map(([name, group]) => namespace.getByName(name).insert(group.map(({ row }) => row))));
}

/** The bench reads and resets the floor's meter here; every other path is the callback. */
function meterRoute(request: Request): Response | null {
	const { pathname } = new URL(request.url);
	if (pathname === "/__meter" && request.method === "GET") return Response.json(meterReading());
	if (pathname === "/__meter/reset" && request.method === "POST") {
		meter.reset();
		return Response.json({ since: meter.since() });
	}
	return null;
}

export default meteredHandler({
	async fetch(request, env) {
		const metered = meterRoute(request);
		if (metered !== null) return metered;
		const events = eventsOf(await request.json());
		const bodies = events.map((event) => JSON.stringify(event));
		const insert = env.FLOOR_DB.prepare("INSERT INTO floor_events (message_id, body) VALUES (?1, ?2)");
		await Promise.all([
			storeInBuckets(env.FLOOR_LEDGER, events, bodies),
			env.FLOOR_DB.batch(events.map((event, i) => insert.bind(event.message.id, bodies[i]!))),
			sendAll(env.FLOOR_QUEUE, events),
		]);
		meter.add("eventsAccepted", events.length);
		return new Response("ok", { headers: { "x-bench-worker": "floor" } });
	},

	async queue(batch, env) {
		await Promise.all(
			batch.messages.map(async (message) => {
				const response = await fetch(env.SINK_URL, {
					method: "POST",
					headers: { "content-type": "application/json", "x-bench-key": message.body.message.id },
					body: JSON.stringify(message.body),
				});
				await response.body?.cancel();
			}),
		);
		batch.ackAll();
	},
} satisfies ExportedHandler<FloorEnv, FloorEvent>);
