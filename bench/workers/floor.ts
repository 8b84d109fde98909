import { DurableObject } from "cloudflare:workers";
import { bucketsEverUsed, DEFAULT_BUCKET_SCHEDULE } from "../../src/ledger/bucket-schedule";
import { bucketNameIn, ledgerName } from "../../src/ledger/ledger-client";
import { meter } from "../../src/meter/meter";
import { meterReading } from "../../src/meter/meter-reading";
import { meteredHandler } from "../../src/meter/metered-handler";
import { MeteredStorage } from "../../src/meter/metered-storage";

/*
 * The job floor (BENCHMARKS.md): the least any design doing this job pays per event, with no logic
 * at all. Per callback: one Worker request, and the 401 challenge to Bandwidth's credential-less
 * first attempt (one more request; the credentials are not checked: that is CPU only); parse; per
 * event one row in a ledger bucket holding its key (for de-duplication: an INSERT OR IGNORE on a
 * WITHOUT ROWID primary key, one row written, after a look at the older days' tables, rows read)
 * and its body (compressed, as any design keeping a bucket under its 10 GB would), the messages
 * hashed over the relay's default 64 buckets, one insert call per bucket a callback touches; one D1
 * batch with one INSERT per event into a table without secondary indexes; one queue message per
 * event (send, then the consumer's read and delete); then 200. Its consumer POSTs each event to
 * the sink. The three writes run in parallel, which makes the floor's latency the lowest a design
 * waiting for all three can reach.
 *
 * Forgetting costs it no row: the ledgers and D1 keep one table per UTC day, created with the day's
 * first event, and its cron (hourly would do: bench/all-in.ts prices it so) drops whole days once
 * past DEDUPE_DAYS (ledgers) and RETENTION_DAYS (D1), DROP TABLE writing no row. The bench drives
 * the cron at simulated times (bench/lifecycle.ts), as it does the relay's.
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
	DEDUPE_DAYS: string;
	RETENTION_DAYS: string;
}

type FloorEvent = { type?: string; to?: string; time?: string; message: { id: string } } & Record<string, unknown>;
type FloorRow = { key: string; body: ArrayBuffer };

/** Cloudflare Queues: at most 100 messages per sendBatch. */
const QUEUE_BATCH_MAX = 100;
const DAY_MS = 24 * 60 * 60 * 1000;
const LEDGER_DAY = /^p_(\d{8})$/;
const D1_DAY = /^floor_events_(\d{8})$/;

/** "20261206": the UTC day of a time. */
function dayOf(time: number): string {
	return new Date(time).toISOString().slice(0, 10).replaceAll("-", "");
}

/** The end of the day a table name holds (epoch ms), or null for another name. */
function dayEnd(name: string, pattern: RegExp): number | null {
	const day = pattern.exec(name)?.[1];
	if (day === undefined) return null;
	return Date.parse(`${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}T00:00:00.000Z`) + DAY_MS;
}

export class FloorLedger extends DurableObject<FloorEnv> {
	readonly #storage: MeteredStorage;
	/** Today's table once it exists, and the older days' tables (what a duplicate may be in). */
	#today: string | null = null;
	#older: string[] = [];

	constructor(ctx: DurableObjectState, env: FloorEnv) {
		super(ctx, env);
		this.#storage = new MeteredStorage(ctx.storage);
	}

	#tables(): string[] {
		return this.#storage
			.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'p_*'")
			.map((row) => row.name)
			.sort();
	}

	#ensureToday(now: number): string {
		const today = `p_${dayOf(now)}`;
		if (this.#today === today) return today;
		this.#storage.run(`CREATE TABLE IF NOT EXISTS ${today} (key TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID`);
		this.#today = today;
		this.#older = this.#tables().filter((name) => name !== today);
		return today;
	}

	insert(rows: FloorRow[]): void {
		meter.add("doRequests");
		const today = this.#ensureToday(Date.now());
		for (const row of rows) {
			const seen = this.#older.some(
				(table) => this.#storage.all(`SELECT 1 FROM ${table} WHERE key = ?`, row.key).length > 0,
			);
			if (!seen) this.#storage.run(`INSERT OR IGNORE INTO ${today} (key, body) VALUES (?, ?)`, row.key, row.body);
		}
	}

	/** The cron's visit: drops the days past DEDUPE_DAYS, whole. */
	forget(now: number): number {
		meter.add("doRequests");
		const dedupeMs = Number(this.env.DEDUPE_DAYS) * DAY_MS;
		let dropped = 0;
		for (const name of this.#tables()) {
			const end = dayEnd(name, LEDGER_DAY);
			if (end === null || end + dedupeMs > now) continue;
			this.#storage.run(`DROP TABLE ${name}`);
			dropped += 1;
		}
		this.#today = null;
		return dropped;
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

/** The D1 day table this isolate has created (or found), so only a day's first callback asks. */
let d1Today: string | null = null;

function d1Statements(db: D1Database, events: readonly FloorEvent[], bodies: readonly string[]): D1PreparedStatement[] {
	const table = `floor_events_${dayOf(Date.now())}`;
	const create =
		d1Today === table
			? []
			: [db.prepare(`CREATE TABLE IF NOT EXISTS ${table} (message_id TEXT NOT NULL, body TEXT NOT NULL)`)];
	d1Today = table;
	const insert = db.prepare(`INSERT INTO ${table} (message_id, body) VALUES (?1, ?2)`);
	return [...create, ...events.map((event, i) => insert.bind(event.message.id, bodies[i]!))];
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

/** Bandwidth's first attempt carries no credentials and is retried with them only after this challenge. */
function challenge(): Response {
	return new Response("credentials required", {
		status: 401,
		headers: { "www-authenticate": 'Basic realm="bench-floor"', "x-bench-worker": "floor" },
	});
}

export default meteredHandler({
	async fetch(request, env) {
		const metered = meterRoute(request);
		if (metered !== null) return metered;
		if (!request.headers.has("authorization")) return challenge();
		const events = eventsOf(await request.json());
		const bodies = events.map((event) => JSON.stringify(event));
		await Promise.all([
			storeInBuckets(env.FLOOR_LEDGER, events, bodies),
			env.FLOOR_DB.batch(d1Statements(env.FLOOR_DB, events, bodies)),
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

	/** Drops D1's days past RETENTION_DAYS and has every ledger bucket drop its days past DEDUPE_DAYS. */
	async scheduled(controller, env) {
		const now = controller.scheduledTime;
		const retentionMs = Number(env.RETENTION_DAYS) * DAY_MS;
		const tables = await env.FLOOR_DB.prepare(
			"SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'floor_events_*'",
		).all<{ name: string }>();
		const expired = tables.results
			.map((row) => row.name)
			.filter((name) => {
				const end = dayEnd(name, D1_DAY);
				return end !== null && end + retentionMs <= now;
			});
		if (expired.length > 0) await env.FLOOR_DB.batch(expired.map((name) => env.FLOOR_DB.prepare(`DROP TABLE ${name}`)));
		if (expired.includes(d1Today ?? "")) d1Today = null;
		const buckets = Array.from({ length: bucketsEverUsed(DEFAULT_BUCKET_SCHEDULE) }, (_, bucket) => ledgerName(bucket));
		await Promise.all(buckets.map((name) => env.FLOOR_LEDGER.getByName(name).forget(now)));
	},
} satisfies ExportedHandler<FloorEnv, FloorEvent>);
