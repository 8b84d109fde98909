import type { Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signingSecrets } from "../../../scripts/lib/dev-vars.ts";
import { TEST_ENV } from "../../setup/test-env.ts";
import { executeLocalD1 } from "../reliability/support/local-d1.ts";
import { adminGet, type Delivery, postCallback, waitUntil } from "../reliability/support/relay-api.ts";
import { type RecordingSink, startRecordingSink } from "../support/recording-sink.ts";
import { type RelayProcess, startRelay } from "../support/relay-process.ts";
import { type ScriptedDownstream, startScriptedDownstream } from "../support/scripted-downstream.ts";
import { type ConsoleBrowser, confirmDialog, DESKTOP, openBrowser, PHONE, waitForText } from "./support/browser.ts";
import { consolePorts, newMessageId, statusElement } from "./support/console-relay.ts";

/*
 * The console (console/, served from wrangler.toml's [assets]) in real Chromium against `wrangler
 * dev`, with a real downstream: the recording sink behind a gate that answers what each test needs.
 */

const ADMIN = { authorization: `Bearer ${TEST_ENV.ADMIN_TOKEN}` };

let relay: RelayProcess;
let sink: RecordingSink;
let downstream: ScriptedDownstream;
let chromium: ConsoleBrowser;
let page: Page;

/** Set by the message test, searched for by the keyboard test. */
let timelineMessageId = "";

beforeAll(async () => {
	sink = await startRecordingSink(signingSecrets(TEST_ENV.FORWARD_SIGNING_SECRET));
	downstream = await startScriptedDownstream(sink.url);
	relay = await startRelay({
		...(await consolePorts("console")),
		// One retry a second later, then dead: a failed first attempt leaves a deliveries row quickly.
		vars: { FORWARD_URL: downstream.url, FORWARD_RETRY_SCHEDULE: "1", METER_ENDPOINT: "true" },
	});
	chromium = await openBrowser();
	page = chromium.page;
});

afterAll(async () => {
	await chromium?.close();
	await relay?.stop();
	await downstream?.close();
	await sink?.close();
});

async function focused(): Promise<{ tag: string; text: string; id: string; outline: string }> {
	return page.evaluate(() => {
		const element = document.activeElement as HTMLElement;
		const style = getComputedStyle(element);
		return {
			tag: element.tagName,
			text: element.textContent ?? "",
			id: element.id,
			outline: `${style.outlineStyle} ${style.outlineWidth}`,
		};
	});
}

/** Presses (Shift+)Tab until the focused element's text is `text`; only the keyboard moves focus. */
async function tabTo(text: string, backwards = false, presses = 40): Promise<void> {
	for (let i = 0; i < presses; i++) {
		if (backwards) {
			await page.keyboard.down("Shift");
			await page.keyboard.press("Tab");
			await page.keyboard.up("Shift");
		} else {
			await page.keyboard.press("Tab");
		}
		if ((await focused()).text.trim() === text) return;
	}
	throw new Error(`no "${text}" within ${presses} Tab presses; focus is on ${JSON.stringify(await focused())}`);
}

async function waitForHeading(text: string): Promise<void> {
	await waitForText(page, "main h1", text);
}

describe("the console's assets", () => {
	it("are served at /console/ with strict security headers, without running the Worker", async () => {
		const reset = await fetch(`${relay.url}/v1/meter/reset`, { method: "POST", headers: ADMIN });
		expect(reset.status).toBe(200);

		const redirect = await fetch(`${relay.url}/console`, { redirect: "manual" });
		expect(redirect.status).toBe(307);
		expect(redirect.headers.get("location")).toBe("/console/");
		// The relay's own address opens the console (the Worker answers it: assets hold no root page).
		const root = await fetch(`${relay.url}/`, { redirect: "manual" });
		expect(root.status).toBe(302);
		expect(root.headers.get("location")).toBe("/console/");
		for (const [path, type] of [
			["/console/", "text/html"],
			["/console/app.js", "text/javascript"],
			["/console/app.css", "text/css"],
		] as const) {
			const response = await fetch(`${relay.url}${path}`);
			expect(response.status, path).toBe(200);
			expect(response.headers.get("content-type"), path).toContain(type);
			const csp = response.headers.get("content-security-policy") ?? "";
			expect(csp, path).toContain("default-src 'none'");
			expect(csp, path).toContain("script-src 'self'");
			expect(csp, path).toContain("frame-ancestors 'none'");
			expect(csp, path).not.toContain("unsafe-inline");
			expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
			expect(response.headers.get("referrer-policy"), path).toBe("no-referrer");
		}
		const html = await (await fetch(`${relay.url}/console/`)).text();
		expect(html).not.toMatch(/<script>|<style|style=/);

		// The meter counts every Worker invocation: only the redirect of / ran it, and the reading itself.
		const meter = await adminGet<{ counts: { workerRequests: number } }>(relay, "/v1/meter");
		expect(meter.body.counts.workerRequests).toBe(1);
		// /v1 still runs the Worker.
		const unauthenticated = await fetch(`${relay.url}/v1/stats`);
		expect(unauthenticated.status).toBe(401);
		expect(unauthenticated.headers.get("content-type")).toContain("application/json");
	});
});

describe("the console in Chromium", () => {
	it("refuses a wrong token, then signs in with ADMIN_TOKEN kept in sessionStorage only", async () => {
		await page.goto(`${relay.url}/console/`);
		await page.waitForSelector("#field-token");
		await page.type("#field-token", "not-the-admin-token");
		await page.keyboard.press("Enter");
		await waitForText(page, ".error", "That token was refused.");
		expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
		await chromium.screenshot("01-sign-in-refused");

		await page.$eval("#field-token", (input) => {
			(input as HTMLInputElement).value = "";
		});
		await page.type("#field-token", TEST_ENV.ADMIN_TOKEN);
		await page.keyboard.press("Enter");
		await waitForHeading("Overview");
		await waitForText(page, "main", "Last 24 hours");
		// The relay's one destination (FORWARD_URL), its state in words as its gate reports it.
		await waitForText(page, "main", "Destinations");
		expect(await page.$eval("[aria-label='Destinations'] tbody", (body) => body.textContent)).toMatch(
			/default\s*sending/,
		);
		// The page refreshes itself every 10 s; the user can pause it.
		const pauseRefresh = await page.waitForSelector("main .refresh button");
		expect(await pauseRefresh?.evaluate((button) => button.textContent)).toBe("Pause auto-refresh");
		await pauseRefresh?.click();
		expect(await pauseRefresh?.evaluate((button) => [button.textContent, button.getAttribute("aria-pressed")])).toEqual(
			["Resume auto-refresh", "true"],
		);
		await pauseRefresh?.click();
		await waitForText(page, "main .refresh", "Updated");

		const stored = await page.evaluate(() => Object.values({ ...sessionStorage }));
		expect(stored).toEqual([TEST_ENV.ADMIN_TOKEN]);
		expect(page.url()).not.toContain(TEST_ENV.ADMIN_TOKEN);
		expect(await page.evaluate(() => document.cookie)).toBe("");
		expect(await page.evaluate(() => localStorage.length)).toBe(0);
		expect(await page.$eval("#field-token", () => true).catch(() => false)).toBe(false);
	});

	it("looks up a message posted through the callback route: recipients, timeline and deliveries", async () => {
		const messageId = newMessageId("console");
		timelineMessageId = messageId;
		// Each event's first attempt is refused with a 503, so the retry that delivers it leaves rows.
		downstream.answerWith((attempt) => (attempt.messageId === messageId && attempt.attempt === 1 ? 503 : undefined));
		const sent = new Date(Date.now() - 60_000).toISOString();
		const delivered = new Date(Date.now() - 30_000).toISOString();
		const answer = await postCallback(relay, [
			statusElement("message-sending", messageId, sent),
			statusElement("message-delivered", messageId, delivered),
		]);
		expect(answer.counts).toMatchObject({ stored: 2, quarantined: 0 });
		await waitUntil(
			() =>
				new Set(
					sink.deliveries.filter((d) => d.verified && d.event?.data.messageId === messageId).map((d) => d.webhookId),
				).size === 2,
			60_000,
			() => `downstream attempts: ${JSON.stringify(downstream.attempts)}\n${relay.recentOutput()}`,
		);

		await page.click('nav a[href="#/message"]');
		await waitForHeading("Message");
		await page.type("#field-messageId", messageId);
		await page.keyboard.press("Enter");
		await page.waitForSelector("main article.event");
		expect(page.url()).toContain(`#/message/${messageId}`);

		const recipients = await page.$$eval("main [aria-label='Recipients'] tbody tr", (rows) =>
			rows.map((row) => Array.from(row.querySelectorAll("td")).map((cell) => cell.textContent ?? "")),
		);
		expect(recipients).toEqual([
			["+12345678902", "delivered", "—", expect.any(String), expect.stringMatching(/^evt_/)],
		]);
		// One card per event, by sequence: its state per destination in words, and every attempt in order.
		const cards = await page.$$eval("main article.event", (all) =>
			all.map((card) => ({
				title: card.querySelector("h3")?.textContent ?? "",
				state: card.querySelector(".states li")?.textContent ?? "",
				attempts: Array.from(card.querySelectorAll("tbody tr")).map((row) =>
					Array.from(row.querySelectorAll("td"))
						.slice(0, 4)
						.map((cell) => cell.textContent ?? ""),
				),
			})),
		);
		expect(cards.map((card) => card.title)).toEqual([
			expect.stringContaining("#1 sending"),
			expect.stringContaining("#2 delivered"),
		]);
		for (const card of cards) {
			// Refused first (503), then delivered by the retry (204): both attempts, in that order.
			expect(card.attempts).toEqual([
				["default", "1", "failed", "503 Service Unavailable"],
				["default", "2", "delivered", "204 No Content"],
			]);
			expect(card.state).toMatch(/^default: delivered .*204 No Content · attempt 2/);
		}
		// At 1280 px an id is never broken across lines: each code element is one line box.
		await page.setViewport({ width: 1280, height: 900 });
		const broken = await page.$$eval("main td code, main .ids code", (codes) =>
			codes.filter((code) => code.getClientRects().length > 1).map((code) => code.textContent),
		);
		expect(broken).toEqual([]);
		await page.setViewport(DESKTOP);
		// The forwarded CloudEvent, expandable.
		await page.click("main article.event details summary");
		const shown = await page.$eval("main article.event details pre", (pre) => pre.textContent ?? "");
		expect(JSON.parse(shown)).toMatchObject({ type: "bandwidth.message.sending", data: { messageId } });
		await chromium.screenshot("03-message");
	});

	it("lists a first-try success as attempt 1, and replays one event to its destination from the message page", async () => {
		const messageId = newMessageId("firsttry");
		const answer = await postCallback(relay, [statusElement("message-sending", messageId, new Date().toISOString())]);
		expect(answer.counts).toMatchObject({ stored: 1 });
		await waitUntil(
			async () => {
				const view = await adminGet<{ deliveries: Delivery[] }>(relay, `/v1/messages/${messageId}`);
				return view.body.deliveries.length === 1;
			},
			60_000,
			() => relay.recentOutput(),
		);
		await page.goto(`${relay.url}/console/#/message/${messageId}`);
		await waitForText(page, "main article.event", "default: delivered");
		const attempts = await page.$$eval("main article.event tbody tr", (rows) =>
			rows.map((row) => Array.from(row.querySelectorAll("td")).map((cell) => cell.textContent ?? "")),
		);
		expect(attempts).toEqual([
			["default", "1", "delivered", "204 No Content", expect.stringMatching(/^\d+ ms$/), "—", expect.any(String), "—"],
		]);
		const before = sink.deliveries.length;
		await page.click("main article.event .states button");
		expect(await confirmDialog(page)).toBe("Replay this event?");
		await waitForText(page, "main .status", "Replay finished", 60_000);
		// The replay is its own attempt: a claim, then its delivery, after the first try.
		await waitForText(page, "main article.event tbody", "replay requested");
		const outcomes = await page.$$eval("main article.event tbody tr", (rows) =>
			rows.map((row) => row.querySelectorAll("td")[2]?.textContent ?? ""),
		);
		expect(outcomes).toEqual(["delivered", "replay requested", "delivered"]);
		expect(sink.deliveries.length).toBeGreaterThan(before);
		await chromium.readmeScreenshot("message");
	});

	it("searches events newest first by message id, event id or phone number, each row with its delivery state", async () => {
		const rowsOf = () =>
			page.$$eval("main [aria-label='Events, newest first'] tbody tr", (rows) =>
				rows.map((row) =>
					Object.fromEntries(
						Array.from(row.querySelectorAll("td")).map((cell) => [cell.dataset.label ?? "", cell.textContent ?? ""]),
					),
				),
			);
		await page.goto(`${relay.url}/console/#/events?q=${timelineMessageId}`);
		await waitForText(page, "main .status", "2 events");
		const byMessage = await rowsOf();
		expect(byMessage.map((row) => row.Type)).toEqual(["delivered", "sending"]);
		expect(byMessage.map((row) => row.Delivery)).toEqual(["default: delivered", "default: delivered"]);
		const eventId = byMessage[0]?.["Event id"] ?? "";
		expect(eventId).toMatch(/^evt_/);

		// An event id finds that event alone; a phone number, the events it sent, received or owns.
		await page.$eval("#field-q", (input) => {
			(input as HTMLInputElement).value = "";
		});
		await page.type("#field-q", eventId);
		await page.keyboard.press("Enter");
		await waitForText(page, "main .status", "1 event");
		expect((await rowsOf()).map((row) => row["Event id"])).toEqual([eventId]);
		await page.goto(`${relay.url}/console/#/events?q=%2B12345678902&range=1h`);
		await waitForText(page, "main .status", "events");
		const byNumber = await rowsOf();
		expect(byNumber.length).toBeGreaterThanOrEqual(2);
		expect(byNumber.every((row) => row.Recipient === "+12345678902")).toBe(true);
		const times = byNumber.map((row) => row.Time ?? "");
		expect(times).toEqual([...times].sort().reverse());

		// Quick ranges: one click, no typed timestamp.
		await page.click("main .ranges button:nth-child(1)");
		await waitForText(page, "main .ranges button[aria-pressed='true']", "Last 15 min");
		expect(page.url()).toContain("range=15m");
		await waitForText(page, "main .status", "event");
		await chromium.screenshot("02b-events-by-number");
	});

	it("shows a failed event's Bandwidth error code, name and description in the timeline", async () => {
		const messageId = newMessageId("failed");
		const failed = { ...statusElement("message-failed", messageId, new Date().toISOString()), errorCode: 4720 };
		expect((await postCallback(relay, [failed])).counts).toMatchObject({ stored: 1 });
		await page.click('nav a[href="#/message"]');
		await waitForHeading("Message");
		await page.type("#field-messageId", messageId);
		await page.keyboard.press("Enter");
		await page.waitForSelector("main article.event");
		const reason = await page.$eval("main article.event .reason", (line) => line.textContent ?? "");
		expect(reason).toBe(
			"Bandwidth error: 4720 invalid-destination-addressCarrier Rejected as Invalid Destination Address",
		);
		const recipientError = await page.$eval(
			"main [aria-label='Recipients'] tbody td[data-label='Error']",
			(cell) => cell.textContent ?? "",
		);
		expect(recipientError).toBe("4720 invalid-destination-address");
		await chromium.screenshot("03b-message-failed");
	});

	it("replays a dead event and shows it delivered", async () => {
		const messageId = newMessageId("dead");
		// 410 is permanent: the event is dead at its first attempt.
		downstream.answerWith((attempt) => (attempt.messageId === messageId ? 410 : undefined));
		const answer = await postCallback(relay, [statusElement("message-failed", messageId, new Date().toISOString())]);
		expect(answer.counts).toMatchObject({ stored: 1 });
		let dead: Delivery | undefined;
		await waitUntil(
			async () => {
				const list = await adminGet<{ items: Delivery[] }>(relay, "/v1/deliveries?status=dead&limit=500");
				dead = list.body.items.find((row) =>
					downstream.attempts.some((a) => a.webhookId === row.eventId && a.messageId === messageId),
				);
				return dead !== undefined;
			},
			60_000,
			() => `downstream attempts: ${JSON.stringify(downstream.attempts)}\n${relay.recentOutput()}`,
		);
		const eventId = (dead as Delivery).eventId;
		downstream.answerWith(() => undefined);

		await page.click('nav a[href="#/dead"]');
		await waitForHeading("Dead letters");
		const row = `#pick-${eventId}-default`;
		await page.waitForSelector(row);
		// Its message (a link), type, recipient and destination; the answer with its status named.
		const cells = await page.$eval(`tr:has(${row})`, (tr) =>
			Object.fromEntries(
				Array.from(tr.querySelectorAll("td")).map((cell) => [cell.dataset.label ?? "", cell.textContent ?? ""]),
			),
		);
		expect(cells).toMatchObject({
			Message: messageId,
			Type: "failed",
			Recipient: "+12345678902",
			Destination: "default",
			Attempt: "1",
			Answer: '410 Gone {"error":"scripted 410"}',
			Now: expect.stringMatching(/^dead after attempt 1: 410 Gone/),
		});
		expect(await page.$eval(`tr:has(${row}) a`, (link) => link.getAttribute("href"))).toBe(`#/message/${messageId}`);
		await chromium.screenshot("04-dead-letters");

		await page.click(row);
		await waitForText(page, "main button", "Replay selected (1)");
		await page.click("main .actions button:not(.secondary)");
		expect(await confirmDialog(page)).toBe("Replay 1 dead delivery?");
		await waitForText(page, "main .status", "Replay finished", 60_000);
		await waitForText(page, `tr:has(${row}) td[data-label="Now"]`, "delivered");
		expect(await page.$eval("main .status", (p) => p.textContent ?? "")).toMatch(
			/^Enqueued 1\. 1 delivered, 0 dead again/,
		);
		await chromium.screenshot("05-dead-letters-replayed");
		expect(sink.verifiedIds().has(eventId)).toBe(true);

		// Delivered now: no longer dead, so the default list (still dead only) leaves it out, as the
		// Overview's count does; the history keeps its dead row, with what it is now.
		await page.goto(`${relay.url}/console/#/dead`);
		await page.reload();
		await waitForHeading("Dead letters");
		await page.waitForFunction(() => document.querySelector("main .loading") === null);
		expect(await page.$(row)).toBeNull();
		await page.click("#field-still-dead");
		await page.click("main form button[type=submit]");
		await page.waitForSelector(row);
		expect(page.url()).toContain("#/dead?history=1");
		await waitForText(page, `tr:has(${row}) td[data-label="Now"]`, "delivered");
	});

	it("reprocesses quarantined elements: one still invalid, one that stores now", async () => {
		const invalidId = newMessageId("invalid");
		const invalid = statusElement("message-delivered", invalidId, new Date().toISOString());
		(invalid.message as Record<string, unknown>).direction = "sideways";
		const answer = await postCallback(relay, [invalid]);
		expect(answer.counts).toMatchObject({ quarantined: 1 });

		// An element an earlier, stricter release quarantined: valid today, so reprocessing stores it.
		const validId = newMessageId("later");
		const quarantineId = `qtn_${"a".repeat(20)}${"234567"}`;
		const valid = JSON.stringify(statusElement("message-delivered", validId, new Date().toISOString()));
		await executeLocalD1(
			relay.persistTo,
			`INSERT INTO quarantine (id, received_at, reason, raw_json) VALUES ('${quarantineId}', '${new Date().toISOString()}', 'message.to: quarantined by an earlier release', '${valid}')`,
		);

		await page.click('nav a[href="#/quarantine"]');
		await waitForHeading("Quarantine");
		await waitForText(page, "main", 'message.direction: Invalid type: Expected ("in" | "out") but received "sideways"');
		await page.$$eval("main details", (all) => {
			for (const details of all) (details as HTMLDetailsElement).open = true;
		});
		await chromium.screenshot("06-quarantine");

		const cards = await page.$$("main article");
		expect(cards).toHaveLength(2);
		const [first, second] = cards;
		expect(await first?.evaluate((card) => card.textContent ?? "")).toContain("sideways");
		await (await first?.$("button"))?.click();
		await waitForText(page, "main article:nth-of-type(1) .status", "Still invalid: message.direction");
		await waitForText(page, "main article:nth-of-type(1)", "Reprocessed: still_invalid");

		expect(await second?.evaluate((card) => card.textContent ?? "")).toContain(quarantineId);
		await (await second?.$("button"))?.click();
		await waitForText(page, "main article:nth-of-type(2) .status", "Stored as evt_");
		await waitForText(page, "main article:nth-of-type(2)", "Reprocessed: stored");
		await chromium.screenshot("07-quarantine-reprocessed");
		const stored = await adminGet<{ events: unknown[] }>(relay, `/v1/messages/${validId}`);
		expect(stored.body.events).toHaveLength(1);
	});

	it("is usable with the keyboard alone: every page from the navigation, a search, a lookup", async () => {
		await page.goto(`${relay.url}/console/#/overview`);
		await waitForHeading("Overview");
		expect((await focused()).tag).toBe("H1");

		await tabTo("Events", true);
		expect((await focused()).outline).toBe("solid 3px");
		await page.keyboard.press("Enter");
		await waitForHeading("Events");
		expect(await focused()).toMatchObject({ tag: "H1", text: "Events" });
		await page.keyboard.press("Tab");
		expect((await focused()).id).toBe("field-q");
		expect((await focused()).outline).toBe("solid 3px");
		await page.keyboard.type(timelineMessageId);
		await page.keyboard.press("Enter");
		await waitForText(page, "main .status", "2 events");
		await chromium.screenshot("02-events");

		// Cursor paging: one event a page, the next page from the keyboard.
		await page.goto(`${relay.url}/console/#/events?q=${timelineMessageId}&limit=1`);
		await waitForText(page, "main .status", "1 event, more to load");
		await tabTo("Next page");
		await page.keyboard.press("Enter");
		await waitForText(page, "main .status", "2 events");
		expect(await page.$$eval("main tbody tr", (rows) => rows.length)).toBe(2);
		expect(await page.$eval("main button[hidden]", () => true).catch(() => false)).toBe(true);

		// From the results, the message link opens the message.
		await tabTo(timelineMessageId);
		await page.keyboard.press("Enter");
		await waitForHeading("Message");
		await waitForText(page, "main", "Events and their deliveries");

		await tabTo("Dead letters", true);
		await page.keyboard.press("Enter");
		await waitForHeading("Dead letters");
		await tabTo("Destinations", true);
		await page.keyboard.press("Enter");
		await waitForHeading("Destinations");
		// Its actions from the keyboard: Pause opens the confirmation, Escape cancels it.
		await tabTo("Pause");
		await page.keyboard.press("Enter");
		await page.waitForSelector("dialog[open]");
		expect((await focused()).text).toBe("Pause");
		await page.keyboard.press("Escape");
		await page.waitForFunction(() => document.querySelector("dialog[open]") === null);
		expect(await adminGet<{ items: Array<{ paused: boolean }> }>(relay, "/v1/destinations")).toMatchObject({
			body: { items: [{ paused: false }] },
		});
		await tabTo("Quarantine", true, 80);
		await page.keyboard.press("Enter");
		await waitForHeading("Quarantine");
		await tabTo("Raw element");
		await page.keyboard.press("Enter");
		expect(await page.$eval("main details", (details) => (details as HTMLDetailsElement).open)).toBe(true);
		await tabTo("Reprocess");
		expect((await focused()).outline).toBe("solid 3px");

		await tabTo("Overview", true);
		await page.keyboard.press("Enter");
		await waitForHeading("Overview");
		await waitForText(page, "main", "Dead (to replay)");
		await chromium.screenshot("08-overview");
	});

	it("reads at 375 px wide without the page scrolling sideways", async () => {
		await page.setViewport(PHONE);
		for (const [hash, title, name] of [
			["#/overview", "Overview", "overview"],
			["#/destinations", "Destinations", "destinations"],
			[`#/message/${timelineMessageId}`, "Message", "message"],
			["#/events", "Events", "events"],
			["#/dead", "Dead letters", "dead-letters"],
			["#/quarantine", "Quarantine", "quarantine"],
		] as const) {
			await page.goto(`${relay.url}/console/${hash}`);
			await waitForHeading(title);
			await page.waitForFunction(() => document.querySelector("main .loading") === null);
			const width = await page.evaluate(() => document.documentElement.scrollWidth);
			expect(width, hash).toBeLessThanOrEqual(PHONE.width);
			await chromium.screenshot(`phone-${name}`);
		}
	});

	it("logged no script error and no CSP violation", () => {
		// The refused sign-in is a 401 by design; Chromium reports every failed load as a console error.
		const unexpected = chromium.problems.filter((line) => !/Failed to load resource: .* status of 401/.test(line));
		expect(unexpected).toEqual([]);
	});
});
