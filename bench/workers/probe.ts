/*
 * Bench-only reader of the relay's D1 (BENCHMARKS.md, drain lag): answers which of the given
 * event ids already have their row in D1 (any day table, or the legacy `events`), so the bench can
 * time "2xx → row in D1" without depending on the admin API.
 */
interface ProbeEnv {
	DB: D1Database;
}

export default {
	async fetch(request, env) {
		const ids = JSON.stringify((await request.json()) as string[]);
		const tables = await env.DB.prepare(
			"SELECT name FROM sqlite_master WHERE type = 'table' AND (name = 'events' OR name GLOB 'events_[0-9]*')",
		).all<{ name: string }>();
		const found = new Set<string>();
		for (const { name } of tables.results) {
			const { results } = await env.DB.prepare(`SELECT id FROM ${name} WHERE id IN (SELECT value FROM json_each(?1))`)
				.bind(ids)
				.all<{ id: string }>();
			for (const row of results) found.add(row.id);
		}
		return Response.json([...found]);
	},
} satisfies ExportedHandler<ProbeEnv>;
