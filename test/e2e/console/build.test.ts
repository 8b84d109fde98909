import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { buildConsole, CONSOLE_ROOT } from "../../../console/build.ts";
import { PROJECT_ROOT } from "../../../scripts/lib/dev-vars.ts";

/*
 * console/build.ts makes what [assets] serves from console/src (wrangler.toml's [build] runs it):
 * the whole page, minified, with its headers; it must type-check and stay small.
 */

/** The budget for everything the console ships, gzipped. */
const MAX_GZIP_BYTES = 60 * 1024;

async function files(root: string): Promise<Map<string, Buffer>> {
	const found = new Map<string, Buffer>();
	for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
		if (!entry.isFile()) continue;
		const path = join(entry.parentPath, entry.name);
		found.set(relative(root, path), await readFile(path));
	}
	return found;
}

const scratch = await mkdtemp(join(tmpdir(), "console-build-"));
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe("the console build", () => {
	it("builds the page, its script, style and icon under /console/, and the headers file", async () => {
		await buildConsole(scratch);
		expect([...(await files(scratch)).keys()].sort()).toEqual([
			"_headers",
			"console/app.css",
			"console/app.js",
			"console/favicon.svg",
			"console/index.html",
		]);
	});

	it("ships at most 60 KB gzipped, with no source map", async () => {
		await buildConsole(scratch);
		const served = [...(await files(scratch))].filter(([path]) => path !== "_headers");
		const gzipped = served.reduce((sum, [, bytes]) => sum + gzipSync(bytes, { level: 9 }).length, 0);
		expect(gzipped).toBeLessThanOrEqual(MAX_GZIP_BYTES);
		expect(served.map(([path]) => path).filter((path) => path.endsWith(".map"))).toEqual([]);
	});

	it("type-checks (console/tsconfig.json: the DOM, strict)", () => {
		const tsc = spawnSync(
			process.execPath,
			[join(PROJECT_ROOT, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", join(CONSOLE_ROOT, "tsconfig.json")],
			{
				encoding: "utf8",
			},
		);
		expect(`${tsc.stdout}${tsc.stderr}`).toBe("");
		expect(tsc.status).toBe(0);
	});
});
