import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEV_VARS_EXAMPLE, parseDevVars } from "../../scripts/lib/dev-vars.ts";
import { isRunning } from "../../scripts/lib/process-group.ts";
import failedFixture from "../fixtures/bandwidth/spec2026__message-failed_4432.array.json" with { type: "json" };
import receivedFixture from "../fixtures/bandwidth/spec2026__message-received_sms.array.json" with { type: "json" };
import { freePort, PORT_RANGES } from "./support/ports.ts";
import { runScript, type ScriptProcess } from "./support/script-process.ts";

const READY = /^start │ Ctrl-C stops both\.$/;
const PIDS = /^start │ relay pid (\d+) \(wrangler dev\) · sink pid (\d+)$/;

let scratch: string;
let start: ScriptProcess | undefined;
let childPids: number[] = [];

beforeEach(async () => {
	scratch = await mkdtemp(join(tmpdir(), "npm-start-e2e-"));
});

afterEach(async () => {
	await start?.stop();
	// If start.ts itself was lost, its children's groups must not outlive the test.
	for (const pid of childPids) {
		try {
			process.kill(-pid, "SIGKILL");
		} catch {
			// Gone, as expected.
		}
	}
	start = undefined;
	childPids = [];
	await rm(scratch, { recursive: true, force: true });
});

async function npmStart(): Promise<{ relayUrl: string; sinkPid: number; relayPid: number; devVars: string }> {
	const relayPort = await freePort(...PORT_RANGES.start.relay);
	const sinkPort = await freePort(...PORT_RANGES.start.relay, [relayPort]);
	const devVars = join(scratch, "dev.vars");
	start = runScript("scripts/start.ts", [], {
		RELAY_PORT: String(relayPort),
		SINK_PORT: String(sinkPort),
		RELAY_INSPECTOR_PORT: String(await freePort(...PORT_RANGES.start.inspector)),
		RELAY_PERSIST_TO: join(scratch, "state"),
		DEV_VARS_FILE: devVars,
		FORWARD_URL: "",
	});
	const [, relayPid, sinkPid] = PIDS.exec(await start.waitForLine(PIDS, 30_000)) ?? [];
	childPids = [Number(relayPid), Number(sinkPid)];
	await start.waitForLine(READY, 60_000);
	return { relayUrl: `http://127.0.0.1:${relayPort}`, relayPid: Number(relayPid), sinkPid: Number(sinkPid), devVars };
}

function groupGone(pgid: number): boolean {
	try {
		process.kill(-pgid, 0);
		return false;
	} catch {
		return true;
	}
}

describe("npm start (scripts/start.ts)", () => {
	it("creates the vars file, runs the relay into its sink, and stops both on Ctrl-C", async () => {
		const { relayUrl, relayPid, sinkPid, devVars } = await npmStart();
		expect(readFileSync(devVars, "utf8")).toBe(readFileSync(DEV_VARS_EXAMPLE, "utf8"));
		const { BANDWIDTH_USERNAME, BANDWIDTH_PASSWORD, ADMIN_TOKEN } = parseDevVars(readFileSync(devVars, "utf8"));
		const output = () => start?.lines.join("\n") ?? "";
		expect(output()).toContain(
			`callback   POST ${relayUrl}/bandwidth/messaging   Basic ${BANDWIDTH_USERNAME}:${BANDWIDTH_PASSWORD}`,
		);
		// Where the console is and what to sign in with; the relay's own address leads there.
		expect(output()).toContain(`console    ${relayUrl}/console/   sign in with the admin token ${ADMIN_TOKEN}`);
		expect(output()).toContain("--failures   (some deliveries fail: dead letters, the breaker, alerts, replay)");
		const root = await fetch(`${relayUrl}/`, { redirect: "manual" });
		expect(root.status).toBe(302);
		expect(root.headers.get("location")).toBe("/console/");
		const consolePage = await fetch(new URL(root.headers.get("location") ?? "", relayUrl));
		expect(consolePage.status).toBe(200);
		expect(await consolePage.text()).toContain('<script src="app.js" defer></script>');

		const response = await fetch(`${relayUrl}/bandwidth/messaging`, {
			method: "POST",
			headers: {
				"content-type": "application/json; charset=utf-8",
				authorization: `Basic ${btoa(`${BANDWIDTH_USERNAME}:${BANDWIDTH_PASSWORD}`)}`,
			},
			body: JSON.stringify(failedFixture),
		});
		expect(response.status, output()).toBe(200);
		expect(await response.json()).toMatchObject({ stored: 1 });
		await start?.waitForLine(
			/^sink {2}│ .* {2}✓ sig {2}bandwidth\.message\.failed +msg 1476…p2b2 #1 {2}\+52345678903 {2}failed 4432 rejected-forbidden-country {2}evt_/,
			20_000,
		);

		// Two destinations on the sink: an inbound text reaches both, the outbound failure only the first.
		expect(output()).toContain("default (every event, /events) and inbound-only (inbound only, /inbound-only)");
		const inbound = await fetch(`${relayUrl}/bandwidth/messaging`, {
			method: "POST",
			headers: {
				"content-type": "application/json",
				authorization: `Basic ${btoa(`${BANDWIDTH_USERNAME}:${BANDWIDTH_PASSWORD}`)}`,
			},
			body: JSON.stringify(receivedFixture),
		});
		expect(inbound.status, output()).toBe(200);
		await start?.waitForLine(/^sink {2}│ inbound-only ← .*bandwidth\.message\.received/, 20_000);
		await start?.waitForLine(/^sink {2}│ (?!inbound-only).*bandwidth\.message\.received/, 20_000);
		expect(output()).not.toMatch(/inbound-only ← .*bandwidth\.message\.failed/);

		start?.signal("SIGINT");
		const exit = await start?.exited;
		expect(exit, output()).toEqual({ code: 0, signal: null });
		// The relay may still print a line of its own between the two.
		expect(output()).toContain("start │ SIGINT: stopping the relay and the sink…");
		expect(output()).toMatch(/\nstart │ stopped$/);
		for (const pid of [relayPid, sinkPid]) {
			expect(isRunning(pid)).toBe(false);
			expect(groupGone(pid)).toBe(true);
		}
	});

	it("stops the relay and exits 1 when the sink dies", async () => {
		const { relayPid, sinkPid } = await npmStart();

		process.kill(sinkPid, "SIGKILL");

		const exit = await start?.exited;
		const output = start?.lines.join("\n") ?? "";
		expect(exit?.code, output).toBe(1);
		expect(output).toContain("the sink exited (SIGKILL); stopping the relay…");
		expect(isRunning(relayPid)).toBe(false);
		expect(groupGone(relayPid)).toBe(true);
		expect(existsSync(join(scratch, "state", "v3", "d1")), "migrations went to RELAY_PERSIST_TO").toBe(true);
	});
});
