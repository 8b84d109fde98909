import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ensureBrowser } from "../../scripts/ensure-browser.ts";
import { findBrowser } from "../../scripts/lib/browser.ts";
import { PROJECT_ROOT } from "../../scripts/lib/dev-vars.ts";

/*
 * `npm test` on a fresh machine: the console's browser tests need Chromium, which
 * scripts/ensure-browser.ts finds, installs where it can, or names in one line.
 */

describe("finding a browser for the console tests", () => {
	it("takes CHROMIUM_PATH when it exists, and none when it names nothing", () => {
		const exists = (path: string) => path === "/opt/my-chrome";
		expect(findBrowser({ CHROMIUM_PATH: "/opt/my-chrome" }, exists)).toBe("/opt/my-chrome");
		expect(findBrowser({ CHROMIUM_PATH: "/opt/missing" }, exists)).toBeNull();
	});

	it("looks in the usual places, then on the PATH", () => {
		expect(findBrowser({ PATH: "" }, (path) => path === "/usr/bin/chromium")).toBe("/usr/bin/chromium");
		expect(
			findBrowser({ PATH: "/home/me/bin:/usr/local/bin" }, (path) => path === "/usr/local/bin/google-chrome"),
		).toBe("/usr/local/bin/google-chrome");
		expect(findBrowser({ PATH: "/usr/local/bin" }, () => false)).toBeNull();
	});

	it("installs Debian's chromium where it may, and then uses it", () => {
		let installed = false;
		const said: string[] = [];
		const path = ensureBrowser({
			find: () => (installed ? "/usr/bin/chromium" : null),
			canInstall: () => true,
			install: () => {
				installed = true;
				return true;
			},
			say: (line) => said.push(line),
		});
		expect(path).toBe("/usr/bin/chromium");
		expect(said).toEqual([expect.stringContaining("installing Debian's chromium")]);
	});

	it("stops with one line naming what to install where it may not install", () => {
		const said: string[] = [];
		const path = ensureBrowser({
			find: () => null,
			canInstall: () => false,
			install: () => {
				throw new Error("must not install");
			},
			say: (line) => said.push(line),
		});
		expect(path).toBeNull();
		expect(said).toHaveLength(1);
		expect(said[0]).toMatch(
			/^npm test: .*install it \(Debian\/Ubuntu: sudo apt-get install -y chromium; macOS: .*CHROMIUM_PATH/,
		);
	});

	it("exits 0 as npm test runs it when the browser is there", () => {
		const found = findBrowser();
		expect(found, "this machine has a browser (the console tests need one)").not.toBeNull();
		const run = spawnSync(process.execPath, ["scripts/ensure-browser.ts"], {
			cwd: PROJECT_ROOT,
			env: { ...process.env, CHROMIUM_PATH: found ?? "" },
			encoding: "utf8",
		});
		expect(run.status).toBe(0);
		expect(run.stderr).toBe("");
	});
});
