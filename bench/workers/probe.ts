/*
 * Bench-only reader of the relay's D1: POST answers which of the given event ids already have their
 * row in D1 (any day table, or the legacy `events`), so the bench can time "2xx → row in D1"
 * (BENCHMARKS.md, drain lag) without depending on the admin API; GET answers how many events the
 * relay's D1 and the floor's hold in all (the steady-state and storage scenarios).
 */
interface ProbeEnv {
	DB: D1Database;
	FLOOR_DB: D1Database;
}

const RELAY_TABLES = "name = 'events' OR name GLOB 'events_[0-9]*'";
const FLOOR_TABLES = "name GLOB 'floor_events_[0-9]*'";

async function eventTables(db: D1Database, which = RELAY_TABLES): Promise<string[]> {
	const tables = await db
		.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND (${which})`)
		.all<{ name: string }>();
	return tables.results.map((row) => row.name);
}

async function countEvents(db: D1Database, which: string): Promise<number> {
	let events = 0;
	for (const name of await eventTables(db, which)) {
		events += (await db.prepare(`SELECT count(*) AS n FROM ${name}`).first<number>("n")) ?? 0;
	}
	return events;
}

export default {
	async fetch(request, env) {
		if (request.method === "GET") {
			return Response.json({
				relay: await countEvents(env.DB, RELAY_TABLES),
				floor: await countEvents(env.FLOOR_DB, FLOOR_TABLES),
			});
		}
		const ids = JSON.stringify((await request.json()) as string[]);
		const found = new Set<string>();
		for (const name of await eventTables(env.DB)) {
			const { results } = await env.DB.prepare(`SELECT id FROM ${name} WHERE id IN (SELECT value FROM json_each(?1))`)
				.bind(ids)
				.all<{ id: string }>();
			for (const row of results) found.add(row.id);
		}
		return Response.json([...found]);
	},
} satisfies ExportedHandler<ProbeEnv>;
