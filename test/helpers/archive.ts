import { env } from "cloudflare:workers";

/** Every line of every archive object under `prefix`, as [key, CloudEvent id] pairs. */
export async function archivedIds(prefix = "events/"): Promise<Array<[key: string, id: string]>> {
	const archive = env.ARCHIVE as R2Bucket;
	const pairs: Array<[string, string]> = [];
	let cursor: string | undefined;
	do {
		const page = await archive.list({ prefix, cursor });
		for (const object of page.objects) {
			const body = await archive.get(object.key);
			if (body === null) continue;
			const text = await new Response(body.body.pipeThrough(new DecompressionStream("gzip"))).text();
			for (const line of text.split("\n")) {
				if (line !== "") pairs.push([object.key, (JSON.parse(line) as { id: string }).id]);
			}
		}
		cursor = page.truncated ? page.cursor : undefined;
	} while (cursor !== undefined);
	return pairs;
}

/** How many times each id appears in the archive. */
export async function archiveCounts(prefix = "events/"): Promise<Map<string, number>> {
	const counts = new Map<string, number>();
	for (const [, id] of await archivedIds(prefix)) counts.set(id, (counts.get(id) ?? 0) + 1);
	return counts;
}
