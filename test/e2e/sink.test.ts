import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { SimulatedFailures } from "../../scripts/sink/simulated-failures.ts";
import failedFixture from "../fixtures/bandwidth/spec2026__message-failed_4432.array.json" with { type: "json" };
import { freePort, PORT_RANGES } from "./support/ports.ts";
import { runScript, type ScriptProcess } from "./support/script-process.ts";

const OLD_SECRET = "whsec_b2xkLXNpbmstdGVzdC1zZWNyZXQtMzItYnl0ZXMtbG9uZw==";
const NEW_SECRET = "whsec_bmV3LXNpbmstdGVzdC1zZWNyZXQtMzItYnl0ZXMtbG9uZw==";
const WRONG_SECRET = "whsec_d3Jvbmctc2VjcmV0LW5vdC1rbm93bi10by10aGUtc2luaw==";
const NO_DEV_VARS = join(import.meta.dirname, "no-such.dev.vars");

/** What the relay forwards for the 2026 spec's failed example: the fields the line shows. */
const failedEvent = {
	specversion: "1.0",
	id: "evt_sinktestfailed4432aaaaaa",
	type: "bandwidth.message.failed",
	subject: failedFixture[0]?.message.id,
	data: {
		messageId: failedFixture[0]?.message.id,
		sequence: 2,
		status: "failed",
		recipient: failedFixture[0]?.to,
		error: { code: 4432, name: "rejected-forbidden-country" },
		bandwidth: failedFixture[0],
	},
};

function signedHeaders(secret: string, id: string, body: string): Record<string, string> {
	const at = new Date();
	return {
		"content-type": "application/cloudevents+json",
		"webhook-id": id,
		"webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
		"webhook-signature": new Webhook(secret).sign(id, at, body),
	};
}

let sink: ScriptProcess | undefined;

afterEach(async () => {
	await sink?.stop();
	sink = undefined;
});

async function startSinkScript(env: NodeJS.ProcessEnv): Promise<{ process: ScriptProcess; url: string }> {
	const port = await freePort(...PORT_RANGES.sink.relay);
	sink = runScript("scripts/sink.ts", [], { DEV_VARS_FILE: NO_DEV_VARS, SINK_PORT: String(port), ...env });
	await sink.waitForLine(/^sink listening on /, 10_000);
	return { process: sink, url: `http://127.0.0.1:${port}/events` };
}

describe("npm run sink", () => {
	it("prints one line per verified event and answers 204, with any of its secrets", async () => {
		const { process: script, url } = await startSinkScript({ FORWARD_SIGNING_SECRET: `${OLD_SECRET} ${NEW_SECRET}` });
		const body = JSON.stringify(failedEvent);

		const response = await fetch(url, {
			method: "POST",
			headers: signedHeaders(NEW_SECRET, failedEvent.id, body),
			body,
		});

		expect(response.status).toBe(204);
		const line = await script.waitForLine(/✓ sig/, 5000);
		expect(line).toMatch(
			/^\d\d:\d\d:\d\d\.\d{3} {2}✓ sig {2}bandwidth\.message\.failed +msg 1476…p2b2 #2 {2}\+52345678903 {2}failed 4432 rejected-forbidden-country {2}evt_sinktestfailed4432aaaaaa$/,
		);
	});

	it("rejects a wrong or missing signature with 401 and a ✗ line", async () => {
		const { process: script, url } = await startSinkScript({ FORWARD_SIGNING_SECRET: OLD_SECRET });
		const body = JSON.stringify(failedEvent);

		const forged = await fetch(url, { method: "POST", headers: signedHeaders(WRONG_SECRET, "evt_forged", body), body });
		const unsigned = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });

		expect(forged.status).toBe(401);
		expect(unsigned.status).toBe(401);
		expect(await script.waitForLine(/evt_forged/, 5000)).toMatch(
			/✗ sig {2}bad signature {2}webhook-id evt_forged {2}→ 401$/,
		);
		expect(await script.waitForLine(/missing/, 5000)).toMatch(
			/✗ sig {2}missing signature headers {2}webhook-id \(none\) {2}→ 401$/,
		);
		expect(script.lines.some((line) => line.includes("✓ sig"))).toBe(false);
	});

	it("stops on SIGTERM with exit code 0", async () => {
		const { process: script } = await startSinkScript({ FORWARD_SIGNING_SECRET: OLD_SECRET });
		script.signal("SIGTERM");
		expect(await script.exited).toEqual({ code: 0, signal: null });
	});

	it("refuses to start without a secret to verify with", async () => {
		sink = runScript("scripts/sink.ts", [], {
			DEV_VARS_FILE: NO_DEV_VARS,
			FORWARD_SIGNING_SECRET: "",
			SINK_PORT: "18739",
		});
		expect((await sink.exited).code).toBe(1);
		expect(sink.lines.join("\n")).toMatch(/FORWARD_SIGNING_SECRET is not set/);
	});
});

describe("the failures npm run simulate -- --failures asks of the sink", () => {
	it("fails a marked event's first attempt as its mark says, then lets it through; an outage fails everything for its time", () => {
		const failures = new SimulatedFailures(3000, 20_000);
		const at = 1_000_000_000_000;
		expect(failures.answer("evt_a", "relay-sim:503", at)).toMatchObject({ status: 503 });
		expect(failures.answer("evt_a", "relay-sim:503", at + 1)).toBeNull();
		expect(failures.answer("evt_b", "relay-sim:410", at)).toMatchObject({ status: 410 });
		expect(failures.answer("evt_c", "relay-sim:timeout", at)).toMatchObject({ status: 204, delayMs: 4000 });
		expect(failures.answer("evt_d", "campaign-1", at)).toBeNull();
		// The outage: every event, marked or not, for 20 s from the first outage event.
		expect(failures.answer("evt_e", "relay-sim:outage", at + 10)).toMatchObject({ status: 503 });
		expect(failures.answer("evt_f", null, at + 19_000)).toMatchObject({ status: 503 });
		expect(failures.answer("evt_e", "relay-sim:outage", at + 20_011)).toBeNull();
		// After it, marks are let go for a while (held events reach the sink first now), and no
		// released outage event starts another.
		expect(failures.answer("evt_g", "relay-sim:410", at + 21_000)).toBeNull();
		expect(failures.answer("evt_h", "relay-sim:outage", at + 21_000)).toBeNull();
		expect(failures.answer("evt_i", "relay-sim:410", at + 20_010 + 5 * 60_000 + 1)).toMatchObject({ status: 410 });
	});
});
