import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { findBrowser, INSTALL_HINT } from "../../../../scripts/lib/browser.ts";
import { PROJECT_ROOT } from "../../../../scripts/lib/dev-vars.ts";
import { TEST_ENV } from "../../../setup/test-env.ts";

/*
 * Real Chromium (Debian's `chromium`, or Chrome; scripts/ensure-browser.ts finds or installs it
 * before `npm test`), headless, driven by puppeteer-core. Screenshots go to test-artifacts/console/
 * (git-ignored) for a person to look at; with UPDATE_SCREENSHOTS=1 (`npm run screenshots`) the
 * README's own are written to docs/screenshots/ as well.
 */

export const ARTIFACTS = join(PROJECT_ROOT, "test-artifacts", "console");
export const README_SCREENSHOTS = join(PROJECT_ROOT, "docs", "screenshots");

export const DESKTOP = { width: 1100, height: 900 };
/** The narrowest phone the console is checked at. */
export const PHONE = { width: 375, height: 812 };

export interface ConsoleBrowser {
	browser: Browser;
	page: Page;
	/** Console errors, page errors and CSP violations: a working page has none. */
	problems: string[];
	screenshot(name: string): Promise<string>;
	/** One of the README's screenshots: the viewport only (kept small), copied to docs/screenshots when asked for. */
	readmeScreenshot(name: string): Promise<string>;
	close(): Promise<void>;
}

export async function openBrowser(): Promise<ConsoleBrowser> {
	const chromium = findBrowser();
	if (chromium === null) throw new Error(INSTALL_HINT);
	const browser = await puppeteer.launch({
		executablePath: chromium,
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
		async readmeScreenshot(name) {
			const path = join(ARTIFACTS, `${name}.png`);
			await page.screenshot({ path, fullPage: false });
			if (process.env.UPDATE_SCREENSHOTS === "1") {
				await mkdir(README_SCREENSHOTS, { recursive: true });
				await copyFile(path, join(README_SCREENSHOTS, `${name}.png`));
			}
			return path;
		},
		close: () => browser.close(),
	};
}

/** A browser on the console of `relayUrl`, signed in with the admin token and showing the Overview. */
export async function openSignedIn(relayUrl: string): Promise<ConsoleBrowser> {
	const chromium = await openBrowser();
	const { page } = chromium;
	await page.goto(`${relayUrl}/console/`);
	await page.waitForSelector("#field-token");
	await page.type("#field-token", TEST_ENV.ADMIN_TOKEN);
	await page.keyboard.press("Enter");
	await waitForText(page, "main h1", "Overview");
	return chromium;
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

/** Answers the console's confirmation dialog with its action button (or Cancel). */
export async function confirmDialog(page: Page, accept = true): Promise<string> {
	const dialog = await page.waitForSelector("dialog[open]", { timeout: 10_000 });
	const question = (await dialog?.$eval("h2", (title) => title.textContent ?? "")) ?? "";
	await page.click(accept ? "dialog[open] button.confirm" : "dialog[open] button.secondary");
	await page.waitForFunction(() => document.querySelector("dialog[open]") === null, { timeout: 10_000 });
	return question;
}
