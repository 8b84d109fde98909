import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";

/*
 * Where the console's browser tests (test/e2e/console) find Chromium: CHROMIUM_PATH when set, else
 * the usual places of Debian's `chromium`, Google Chrome and their macOS apps, else the first
 * `chromium`/`google-chrome` on the PATH. scripts/ensure-browser.ts installs Debian's where it can.
 */

const KNOWN_PATHS = [
	"/usr/bin/chromium",
	"/usr/bin/chromium-browser",
	"/usr/bin/google-chrome",
	"/usr/bin/google-chrome-stable",
	"/snap/bin/chromium",
	"/Applications/Chromium.app/Contents/MacOS/Chromium",
	"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
];
const COMMANDS = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/** What to install, in one line, for whoever has none. */
export const INSTALL_HINT =
	"the console's browser tests need Chromium: install it (Debian/Ubuntu: sudo apt-get install -y chromium; macOS: brew install --cask chromium) or set CHROMIUM_PATH to a Chrome or Chromium binary";

export function findBrowser(env: NodeJS.ProcessEnv = process.env, exists = existsSync): string | null {
	if (env.CHROMIUM_PATH) return exists(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : null;
	const onPath = (env.PATH ?? "")
		.split(delimiter)
		.filter((dir) => dir !== "")
		.flatMap((dir) => COMMANDS.map((command) => join(dir, command)));
	return [...KNOWN_PATHS, ...onPath].find((path) => exists(path)) ?? null;
}
