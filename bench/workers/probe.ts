/*
 * Bench-only reader of the relay's D1 (BENCHMARKS.md, drain lag): answers which of the given
 * event ids already have their `events` row, so the bench can time "2xx → row in D1" without
 * depending on the admin API.
 */
interface ProbeEnv {
	DB: D1Database;
}

export default {
	async fetch(request, env) {
		const ids = (await request.json()) as string[];
		const { results } = await env.DB.prepare("SELECT id FROM events WHERE id IN (SELECT value FROM json_each(?1))")
			.bind(JSON.stringify(ids))
			.all<{ id: string }>();
		return Response.json(results.map((row) => row.id));
	},
} satisfies ExportedHandler<ProbeEnv>;
