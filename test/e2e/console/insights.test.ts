import type { Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCronOnce } from "../../../scripts/lib/local-cron.ts";
import { adminGet, postCallback, waitUntil } from "../reliability/support/relay-api.ts";
import { freePort } from "../support/ports.ts";
import { type RelayProcess, startRelay } from "../support/relay-process.ts";
import { type ConsoleBrowser, openSignedIn, PHONE, waitForText } from "./support/browser.ts";

/*
 * The console's Insights page in real Chromium against `wrangler dev`: callbacks posted, the cron
 * run (GET /__scheduled, as npm start does every minute), then the page's figures, chart, error
 * codes with what to do, worst numbers, its filters by number and application, the keyboard and a
 * 375 px width.
 */

/** This file's own port ranges (test/e2e/support/ports.ts), next to the console test's. */
const PORTS = { relay: [48720, 48739], inspector: [49720, 49739] } as const;

const APPLICATION = crypto.randomUUID();
const WORST = "+19195550141";
const BETTER = "+19195550142";

let relay: RelayProcess;
let chromium: ConsoleBrowser;
let page: Page;

type Element = Record<string, unknown>;

function outbound(number: string, index: number, errorCode: number | null): Element[] {
	const time = Date.now() - 20 * 60_000 + index * 1000;
	const recipient = `+1646555${String(4000 + index)}`;
	const id = `${time}cons${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
	const message = {
		id,
		owner: number,
		applicationId: APPLICATION,
		time: new Date(time).toISOString(),
		segmentCount: 1,
		direction: "out",
		to: [recipient],
		from: number,
		text: "",
	};
	const at = (ms: number) => new Date(time + ms).toISOString();
	return [
		{ type: "message-sending", time: at(500), to: recipient, description: "sending", message },
		errorCode === null
			? { type: "message-delivered", time: at(4500), to: recipient, description: "ok", message }
			: { type: "message-failed", time: at(4500), to: recipient, description: "failed", errorCode, message },
	];
}

function inbound(number: string, index: number, media: boolean): Element {
	const time = Date.now() - 10 * 60_000 + index * 1000;
	const id = `${time}cins${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
	return {
		type: "message-received",
		time: new Date(time).toISOString(),
		to: number,
		description: "Incoming message received",
		message: {
			id,
			owner: number,
			applicationId: APPLICATION,
			time: new Date(time).toISOString(),
			segmentCount: 1,
			direction: "in",
			to: [number],
			from: "+14155550123",
			text: "hi",
			...(media ? { media: [`https://messaging.bandwidth.com/api/v2/users/1/media/${id}/0/a.png`] } : {}),
		},
	};
}

async function figures(): Promise<Record<string, string>> {
	return page.$$eval("dl.figures .figure", (all) =>
		Object.fromEntries(
			all.map((figure) => [figure.querySelector("dt")?.textContent, figure.querySelector("dd")?.textContent]),
		),
	);
}

async function rows(caption: string): Promise<string[][]> {
	return page.$$eval(
		"main table",
		(tables, wanted) =>
			tables
				.filter((table) => table.querySelector("caption")?.textContent === wanted)
				.flatMap((table) =>
					Array.from(table.querySelectorAll("tbody tr")).map((row) =>
						Array.from(row.querySelectorAll("td")).map((cell) => cell.textContent ?? ""),
					),
				),
		caption,
	);
}

beforeAll(async () => {
	relay = await startRelay({
		port: await freePort(...PORTS.relay),
		inspectorPort: await freePort(...PORTS.inspector),
		testScheduled: true,
	});
	// WORST: 12 delivered, 8 failed (5 spam, 3 inactive campaign); BETTER: 10 delivered. 3 SMS, 2 MMS in.
	const fates = [...Array(12).fill(null), ...Array(5).fill(4470), ...Array(3).fill(4773)] as Array<number | null>;
	const elements = [
		...fates.flatMap((code, index) => outbound(WORST, index, code)),
		...Array.from({ length: 10 }, (_, index) => outbound(BETTER, 100 + index, null)).flat(),
		...[false, false, false, true, true].map((media, index) => inbound(WORST, index, media)),
	];
	const answer = await postCallback(relay, elements);
	expect(answer.counts).toMatchObject({ stored: elements.length, quarantined: 0 });
	// The cron counts what the ledgers accepted; a run that overlapped another leaves the rest to the next.
	await waitUntil(
		async () => {
			expect(await runCronOnce(relay.url)).toBe(true);
			const { body } = await adminGet<{ totals: { sent: number } }>(relay, `/v1/insights?applicationId=${APPLICATION}`);
			return body.totals.sent === 30;
		},
		60_000,
		() => relay.recentOutput(),
		1000,
	);
	chromium = await openSignedIn(relay.url);
	page = chromium.page;
});

afterAll(async () => {
	await chromium?.close();
	await relay?.stop();
});

describe("the Insights page", () => {
	it("shows the delivery rate, its chart, failures by code with what to do, and the worst numbers", async () => {
		await page.click('nav a[href="#/insights"]');
		await waitForText(page, "main h1", "Insights");
		await page.type("#field-applicationId", APPLICATION);
		await page.keyboard.press("Enter");
		await waitForText(page, "main", "Failures by error code");
		expect(page.url()).toContain(`applicationId=${APPLICATION}`);

		expect(await figures()).toMatchObject({
			Sent: "30",
			Delivered: "22",
			Failed: "8",
			"Delivery rate": "73.3 %",
			// Every delivery took 4.0 s: reported within 12.2 % (src/insights/latency-sketch.ts).
			"Latency p50": expect.stringMatching(/^(3\.[5-9]|4\.[0-5]) s$/),
			"Received SMS": "3",
			"Received MMS": "2",
		});
		const chart = await page.$eval("svg.chart", (svg) => ({
			role: svg.getAttribute("role"),
			label: svg.getAttribute("aria-label") ?? "",
			lines: svg.querySelectorAll("path.rate").length,
			bars: svg.querySelectorAll("rect.volume").length,
		}));
		expect(chart.role).toBe("img");
		expect(chart.label).toMatch(/Delivery rate, hourly: [12] of 2[45] periods had receipts, lowest/);
		expect(chart.bars).toBeGreaterThan(0);
		expect(chart.lines).toBeGreaterThan(0);

		const codes = await rows("Failures by error code, most first");
		expect(codes.map((row) => row.slice(0, 4))).toEqual([
			["4470", "rejected-spam-detected", "5", "62.5 %"],
			["4773", "inactive-campaign", "3", "37.5 %"],
		]);
		expect(codes[1]?.[4]).toMatch(/^Register the campaign/);
		const numbers = await rows("Numbers with the most failures");
		expect(numbers.map((row) => row.slice(0, 4))).toEqual([
			[WORST, "20", "12", "8"],
			[BETTER, "10", "10", "0"],
		]);
		await chromium.screenshot("insights-01-application");
		expect(chromium.problems).toEqual([]);
	});

	it("filters by a number from its link, and by range from the keyboard", async () => {
		await page.click(`main a[href*="owner=${encodeURIComponent(BETTER)}"]`);
		await waitForText(page, "dl.figures", "100.0 %");
		expect(await figures()).toMatchObject({ Sent: "10", Failed: "0", "Delivery rate": "100.0 %" });
		expect(await page.$eval("#field-owner", (input) => (input as HTMLInputElement).value)).toBe(BETTER);

		// Keyboard only: to the range, pick 30 days, on to the button, press it.
		await page.focus("#field-range");
		await page.keyboard.press("ArrowDown");
		await page.keyboard.press("ArrowDown");
		await page.keyboard.press("Tab");
		expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Show");
		await page.keyboard.press("Enter");
		await waitForText(page, "main", "Last 30 days, by day");
		await waitForText(page, "svg.chart title", "Delivery rate, daily");
		expect(page.url()).toContain("range=30d");
		expect(await page.$eval("svg.chart", (svg) => svg.getAttribute("aria-label"))).toMatch(/daily: 1 of 3[01] periods/);
		expect(await figures()).toMatchObject({ Sent: "10", Delivered: "10" });
		expect(chromium.problems).toEqual([]);
	});

	it("reads at 375 px wide without the page scrolling sideways", async () => {
		await page.setViewport(PHONE);
		await page.goto(`${relay.url}/console/#/insights?applicationId=${APPLICATION}`);
		await waitForText(page, "main", "Numbers with the most failures");
		expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
		await chromium.screenshot("insights-02-phone");
		expect(chromium.problems).toEqual([]);
	});
});
