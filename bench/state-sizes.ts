import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

/*
 * What the local runtime holds, read from wrangler's state directory (--persist-to) while it runs:
 * each Durable Object's SQLite database (its pages in use, WAL included: page_count less the
 * free list, as `ctx.storage.sql.databaseSize` reports it; a dropped table's pages go to the free
 * list) and an R2 bucket's objects (Miniflare keeps one blob file per object). D1's size comes from D1 itself (GET /v1/stats). Read-only: opening a database
 * beside workerd is what SQLite's WAL mode allows.
 */

/** Bytes of every object of one Durable Object class (`<script>-<Class>`), e.g. the relay's ledgers. */
export function durableObjectBytes(persistTo: string, namespace: string): { objects: number; bytes: number } {
	const dir = join(persistTo, "v3", "do", namespace);
	if (!existsSync(dir)) return { objects: 0, bytes: 0 };
	let objects = 0;
	let bytes = 0;
	for (const file of readdirSync(dir)) {
		if (!file.endsWith(".sqlite") || file === "metadata.sqlite") continue;
		const db = new DatabaseSync(join(dir, file), { readOnly: true });
		try {
			const { page_count: pages } = db.prepare("PRAGMA page_count").get() as { page_count: number };
			const { freelist_count: free } = db.prepare("PRAGMA freelist_count").get() as { freelist_count: number };
			const { page_size: pageSize } = db.prepare("PRAGMA page_size").get() as { page_size: number };
			bytes += (pages - free) * pageSize;
			objects += 1;
		} finally {
			db.close();
		}
	}
	return { objects, bytes };
}

/** Objects and bytes an R2 bucket holds (its blob files). */
export function r2BucketBytes(persistTo: string, bucket: string): { objects: number; bytes: number } {
	const dir = join(persistTo, "v3", "r2", bucket, "blobs");
	if (!existsSync(dir)) return { objects: 0, bytes: 0 };
	let objects = 0;
	let bytes = 0;
	for (const file of readdirSync(dir)) {
		bytes += statSync(join(dir, file)).size;
		objects += 1;
	}
	return { objects, bytes };
}
