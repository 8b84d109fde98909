/*
 * `npm test` runs this before Vitest: the console's browser tests need Chromium. Found → nothing
 * to do. Missing, on a Debian-like machine where this runs as root (a CI runner, a container), it
 * installs Debian's `chromium` as .ci/run does; anywhere else it stops with one line naming what to
 * install, rather than let the browser tests fail one by one.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { findBrowser, INSTALL_HINT } from "./lib/browser.ts";

export interface EnsureBrowserDeps {
	find: () => string | null;
	/** Whether this process may install a system package itself. */
	canInstall: () => boolean;
	/** Installs Debian's chromium; true when it succeeded. */
	install: () => boolean;
	say: (line: string) => void;
}

const defaults: EnsureBrowserDeps = {
	find: () => findBrowser(),
	canInstall: () => process.platform === "linux" && process.getuid?.() === 0 && existsSync("/usr/bin/apt-get"),
	install: () => {
		const run = (args: string[]) => spawnSync("apt-get", args, { stdio: "inherit" }).status === 0;
		return run(["update"]) && run(["install", "-y", "--no-install-recommends", "chromium"]);
	},
	say: (line) => process.stderr.write(`${line}\n`),
};

/** The browser's path, or null (after saying why) when there is none and none could be installed. */
export function ensureBrowser(deps: EnsureBrowserDeps = defaults): string | null {
	const found = deps.find();
	if (found !== null) return found;
	if (deps.canInstall()) {
		deps.say("npm test: no Chromium found; installing Debian's chromium (apt-get) for the console's browser tests…");
		if (deps.install()) {
			const installed = deps.find();
			if (installed !== null) return installed;
		}
	}
	deps.say(`npm test: ${INSTALL_HINT}.`);
	return null;
}

if (import.meta.main) process.exit(ensureBrowser() === null ? 1 : 0);
