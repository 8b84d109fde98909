import { createHash } from "node:crypto";
import { cp, mkdtemp, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../../scripts/lib/dev-vars.ts";
import { applyMigrations } from "../../../scripts/lib/wrangler.ts";

/*
 * A relay's local D1 with the migrations applied. `wrangler d1 migrations apply --local` starts
 * wrangler and a workerd of its own: 11 s of CPU on an idle 2-core machine, twice what the relay's
 * own start takes, and the e2e files start about fifteen relays. So it runs once per set of
 * migrations, into a template directory that each relay's state then copies (miniflare's D1 files,
 * named by the database id in wrangler.toml). Users' `npm start` still applies them itself.
 */

const D1_DIR = ["v3", "d1"];

async function exists(path: string): Promise<boolean> {
	return stat(path).then(
		() => true,
		() => false,
	);
}

/** Names the template by what makes it: every migration and wrangler.toml (the database id). */
async function templateKey(): Promise<string> {
	const hash = createHash("sha256");
	const migrations = join(PROJECT_ROOT, "migrations");
	for (const name of (await readdir(migrations)).filter((file) => file.endsWith(".sql")).sort()) {
		hash.update(name).update(await readFile(join(migrations, name)));
	}
	hash.update(await readFile(join(PROJECT_ROOT, "wrangler.toml")));
	return hash.digest("hex").slice(0, 16);
}

async function template(): Promise<string> {
	const path = join(tmpdir(), `bandwidth-relay-migrated-${await templateKey()}`);
	if (await exists(join(path, ...D1_DIR))) return path;
	// Files starting side by side may both make it: the first rename wins, the other is dropped.
	const made = await mkdtemp(join(tmpdir(), "bandwidth-relay-migrating-"));
	try {
		await applyMigrations(made);
		await rename(made, path);
	} catch (error) {
		await rm(made, { recursive: true, force: true });
		if (!(await exists(join(path, ...D1_DIR)))) throw error;
	}
	return path;
}

/** Gives `persistTo` a migrated D1, unless it has one already (a relay restarted on its state). */
export async function migratedState(persistTo: string): Promise<void> {
	if (await exists(join(persistTo, ...D1_DIR))) return;
	await cp(join(await template(), ...D1_DIR), join(persistTo, ...D1_DIR), { recursive: true });
}
