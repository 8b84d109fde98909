import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { buildConsole, CONSOLE_OUTPUT, CONSOLE_ROOT } from "../../../console/build.ts";
import { EVENT_TYPES } from "../../../console/src/types.ts";
import { PROJECT_ROOT } from "../../../scripts/lib/dev-vars.ts";
import { NORMALIZED_TYPES } from "../../../src/bandwidth/event-types.ts";

/*
 * The console's build output is committed (console/public, what [assets] serves): it must be exactly
 * what console/build.ts makes from console/src, type-check, and stay small.
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
	it("matches the committed console/public (run `npm run build:console` after changing console/src)", async () => {
		await buildConsole(scratch);
		const built = await files(scratch);
		const committed = await files(CONSOLE_OUTPUT);
		expect([...committed.keys()].sort()).toEqual([...built.keys()].sort());
		for (const [path, bytes] of built) expect(committed.get(path)?.equals(bytes), path).toBe(true);
	});

	it("ships at most 60 KB gzipped, with no source map", async () => {
		const committed = await files(CONSOLE_OUTPUT);
		const served = [...committed].filter(([path]) => path !== "_headers");
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

	it("offers the event types GET /v1/events accepts", () => {
		expect(EVENT_TYPES).toEqual(NORMALIZED_TYPES);
	});
});
