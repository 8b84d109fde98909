import { DurableObject } from "cloudflare:workers";

/*
 * The job floor (BENCHMARKS.md): the binding work the relay's design cannot avoid, with no logic
 * at all. Per request: parse; per message id, one INSERT into a SQLite-backed Durable Object
 * (a fresh object per new id, as in the relay); one D1 batch with one INSERT per event; one queue
 * send per event; then 200. Its consumer POSTs each event to the sink. The three writes run in
 * parallel, which makes the floor's latency the lowest a design waiting for all three can reach.
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
		ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS events (message_id TEXT NOT NULL, body TEXT NOT NULL)");
	}

	insert(messageId: string, body: string): void {
		this.ctx.storage.sql.exec("INSERT INTO events (message_id, body) VALUES (?, ?)", messageId, body);
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

export default {
	async fetch(request, env) {
		const events = eventsOf(await request.json());
		const bodies = events.map((event) => JSON.stringify(event));
		const insert = env.FLOOR_DB.prepare("INSERT INTO floor_events (message_id, body) VALUES (?1, ?2)");
		await Promise.all([
			...events.map((event, i) => env.FLOOR_LEDGER.getByName(event.message.id).insert(event.message.id, bodies[i]!)),
			env.FLOOR_DB.batch(events.map((event, i) => insert.bind(event.message.id, bodies[i]!))),
			sendAll(env.FLOOR_QUEUE, events),
		]);
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
} satisfies ExportedHandler<FloorEnv, FloorEvent>;
