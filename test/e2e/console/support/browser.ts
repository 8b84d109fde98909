import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { PROJECT_ROOT } from "../../../../scripts/lib/dev-vars.ts";

/*
 * Real Chromium (Debian's `chromium`; .ci/run installs it), headless, driven by puppeteer-core.
 * Screenshots go to test-artifacts/console/ (git-ignored) for a person to look at.
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ARTIFACTS = join(PROJECT_ROOT, "test-artifacts", "console");

export const DESKTOP = { width: 1100, height: 900 };
/** The narrowest phone the console is checked at. */
export const PHONE = { width: 375, height: 812 };

export interface ConsoleBrowser {
	browser: Browser;
	page: Page;
	/** Console errors, page errors and CSP violations: a working page has none. */
	problems: string[];
	screenshot(name: string): Promise<string>;
	close(): Promise<void>;
}

export async function openBrowser(): Promise<ConsoleBrowser> {
	if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
	const browser = await puppeteer.launch({
		executablePath: CHROMIUM,
		headless: true,
		// Root in a container has no user namespace for Chromium's sandbox.
		args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
	});
	const page = await browser.newPage();
	await page.setViewport(DESKTOP);
	const problems: string[] = [];
	page.on("console", (message) => {
		if (message.type() === "error") problems.push(`console: ${message.text()}`);
	});
	page.on("pageerror", (error) => problems.push(`page: ${(error as Error).message}`));
	await mkdir(ARTIFACTS, { recursive: true });
	return {
		browser,
		page,
		problems,
		async screenshot(name) {
			const path = join(ARTIFACTS, `${name}.png`);
			await page.screenshot({ path, fullPage: true });
			return path;
		},
		close: () => browser.close(),
	};
}

/** Waits until the page's text (textContent of any `selector` match) contains `text`. */
export async function waitForText(page: Page, selector: string, text: string, timeout = 30_000): Promise<void> {
	await page.waitForFunction(
		(sel, wanted) => Array.from(document.querySelectorAll(sel)).some((el) => (el.textContent ?? "").includes(wanted)),
		{ timeout, polling: 100 },
		selector,
		text,
	);
}
