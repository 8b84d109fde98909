/** The runtime's own cost of one request with a body: nothing below this is possible. */
export default {
	async fetch(request) {
		await request.arrayBuffer();
		return new Response("ok", { headers: { "x-bench-worker": "bare" } });
	},
} satisfies ExportedHandler;
