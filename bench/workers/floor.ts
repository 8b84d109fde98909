import { DurableObject } from "cloudflare:workers";
import { meter } from "../../src/meter/meter";
import { meterReading } from "../../src/meter/meter-reading";
import { meteredHandler } from "../../src/meter/metered-handler";

/*
 * The job floor (BENCHMARKS.md): the binding work the relay's design cannot avoid, with no logic
 * at all. Per request: parse; per message id, one INSERT into a SQLite-backed Durable Object
 * (a fresh object per new id, as in the relay); one D1 batch with one INSERT per event; one queue
 * send per event; then 200. Its consumer POSTs each event to the sink. The three writes run in
 * parallel, which makes the floor's latency the lowest a design waiting for all three can reach.
 *
 * It is metered like the relay (src/meter): the same binding wrappers, its object's requests and
 * rows counted here, and its counts at GET /__meter (POST /__meter/reset), so the bench prices
 * both per event. It writes no log lines; its invocation logs count as if observability were on,
 * as it is for the relay.
 */

interface FloorEnv {
	FLOOR_DB: D1Database;
	FLOOR_LEDGER: DurableObjectNamespace<FloorLedger>;
	FLOOR_QUEUE: Queue<FloorEvent>;
	SINK_URL: string;
}

type FloorEvent = { message: { id: string } } & Record<string, unknown>;

/** Cloudflare Queues: at most 100 messages per sendBatch. */
const QUEUE_BATCH_MAX = 100;

export class FloorLedger extends DurableObject<FloorEnv> {
	constructor(ctx: DurableObjectState, env: FloorEnv) {
		super(ctx, env);
		meter.sql(ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS events (message_id TEXT NOT NULL, body TEXT NOT NULL)"));
	}

	insert(messageId: string, body: string): void {
		meter.add("doRequests");
		meter.sql(this.ctx.storage.sql.exec("INSERT INTO events (message_id, body) VALUES (?, ?)", messageId, body));
	}
}

function eventsOf(body: unknown): FloorEvent[] {
	return (Array.isArray(body) ? body : [body]) as FloorEvent[];
}

async function sendAll(queue: Queue<FloorEvent>, events: readonly FloorEvent[]): Promise<void> {
	for (let start = 0; start < events.length; start += QUEUE_BATCH_MAX) {
		const chunk = events.slice(start, start + QUEUE_BATCH_MAX);
		await queue.sendBatch(chunk.map((event) => ({ body: event, contentType: "json" as const })));
	}
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
			...events.map((event, i) => env.FLOOR_LEDGER.getByName(event.message.id).insert(event.message.id, bodies[i]!)),
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
