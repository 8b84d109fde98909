import { env } from "cloudflare:workers";

/** Objects laid out as the ledgers write them: gzip NDJSON with their counts in customMetadata. */
export async function putArchiveObject(
	key: string,
	events: readonly unknown[],
	options: { counts?: boolean } = {},
): Promise<{ key: string; text: string; size: number }> {
	const text = events.map((event) => `${JSON.stringify(event)}\n`).join("");
	const gzipped = await new Response(
		new Blob([text]).stream().pipeThrough(new CompressionStream("gzip")),
	).arrayBuffer();
	const object = await env.ARCHIVE.put(key, gzipped, {
		httpMetadata: { contentType: "application/gzip" },
		...(options.counts === false
			? {}
			: {
					customMetadata: {
						events: String(events.length),
						bytes: String(new TextEncoder().encode(text).byteLength),
					},
				}),
	});
	return { key, text, size: object?.size ?? 0 };
}

export async function archiveKeys(): Promise<string[]> {
	const keys: string[] = [];
	let cursor: string | undefined;
	do {
		const page = await env.ARCHIVE.list(cursor === undefined ? {} : { cursor });
		keys.push(...page.objects.map((object) => object.key));
		cursor = page.truncated ? page.cursor : undefined;
	} while (cursor !== undefined);
	return keys;
}

/** Tests in a file share one bucket: each starts from an empty one. */
export async function clearArchive(): Promise<void> {
	const keys = await archiveKeys();
	for (let start = 0; start < keys.length; start += 1000) await env.ARCHIVE.delete(keys.slice(start, start + 1000));
}
