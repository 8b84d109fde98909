import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signingSecrets } from "../../scripts/lib/dev-vars.ts";
import type { Summary } from "../../scripts/simulate/summary.ts";
import { SimulatedFailures } from "../../scripts/sink/simulated-failures.ts";
import { TEST_ENV } from "../setup/test-env.ts";
import { adminGet, adminListAll, type Delivery, waitUntil } from "./reliability/support/relay-api.ts";
import { relayPorts } from "./support/ports.ts";
import { type RecordingSink, startRecordingSink } from "./support/recording-sink.ts";
import { type RelayProcess, startRelay } from "./support/relay-process.ts";
import { runScript } from "./support/script-process.ts";

let relay: RelayProcess;
let sink: RecordingSink;

beforeAll(async () => {
	sink = await startRecordingSink(signingSecrets(TEST_ENV.FORWARD_SIGNING_SECRET));
	relay = await startRelay({
		...(await relayPorts("simulate")),
		vars: { FORWARD_URL: sink.url },
		testScheduled: true,
	});
});

afterAll(async () => {
	await relay?.stop();
	await sink?.close();
});

describe("npm run simulate against the relay in wrangler dev", () => {
	it("sends realistic traffic, and the relay, its admin API and the sink all agree with it", async () => {
		const simulator = runScript(
			"scripts/simulate.ts",
			["--url", relay.url, "--count", "8", "--seed", "1", "--duplicates", "0.3", "--rate", "0", "--json"],
			{
				// Only what the test says: no developer .dev.vars behind it.
				DEV_VARS_FILE: join(relay.persistTo, "no-such.dev.vars"),
				BANDWIDTH_USERNAME: TEST_ENV.BANDWIDTH_USERNAME,
				BANDWIDTH_PASSWORD: TEST_ENV.BANDWIDTH_PASSWORD,
				ADMIN_TOKEN: TEST_ENV.ADMIN_TOKEN,
			},
		);
		const exit = await simulator.exited;
		const output = simulator.lines.join("\n");
		expect(exit.code, `${output}\n--- relay ---\n${relay.recentOutput()}`).toBe(0);

		const summary = JSON.parse(simulator.lines.find((line) => line.startsWith("{")) ?? "null") as Summary;
		expect(summary.ok).toBe(true);
		expect(summary.messages).toBe(8);
		expect(summary.duplicatesSent).toBeGreaterThan(0);
		expect(summary.status["2xx"]).toBe(summary.callbacks);
		expect(summary.challenges).toBeGreaterThan(0);
		expect(summary.status["401"]).toBe(summary.challenges);
		expect(summary.challengesAnswered).toBe(summary.challenges);
		expect(summary.ingest).toEqual({
			received: summary.callbacks,
			stored: summary.events,
			duplicates: summary.duplicatesSent,
			quarantined: 0,
		});
		expect(summary.check).toMatchObject({ status: "ok", checked: 8, matched: 8 });
		// Per destination, what its gate saw: here the one FORWARD_URL, "default".
		expect(output).toMatch(/destination {2}default {2}\d+ attempts in 15 min · (0 % failed|—) · closed · backlog 0/);
		// The run's insights, counted by the cron the simulator asked the relay to run.
		expect(output).toMatch(/insights {2}application [\w-]+: \d+ sent · \d+ delivered · \d+ failed · delivery rate /);

		// Every distinct event reaches the sink once, signed with a secret it knows.
		await sink.waitForEvents(summary.events, 20_000);
		expect(sink.deliveries.every((delivery) => delivery.verified && delivery.status === 204)).toBe(true);
		expect(sink.deliveries).toHaveLength(summary.events);
		const subjects = new Set(sink.deliveries.map((delivery) => delivery.event?.subject));
		expect(subjects).toEqual(new Set(summary.messageIds));
	});

	it("exits 1 and says so when the relay answers with other credentials", async () => {
		const simulator = runScript(
			"scripts/simulate.ts",
			["--url", relay.url, "--count", "2", "--seed", "2", "--rate", "0", "--no-check", "--password", "wrong"],
			{ DEV_VARS_FILE: join(relay.persistTo, "no-such.dev.vars"), BANDWIDTH_USERNAME: TEST_ENV.BANDWIDTH_USERNAME },
		);
		const exit = await simulator.exited;
		const output = simulator.lines.join("\n");
		expect(exit.code, output).toBe(1);
		expect(output).toMatch(/answered 401/);
		expect(output).toMatch(/✗ mismatch \(reproduce with --seed 2\)/);
	});

	it("with --failures, has the sink fail some deliveries: a 410 goes dead and is replayed, the outage opens the breaker, which closes and delivers what it held, and the alerts arrive", async () => {
		const failing = await startRecordingSink(
			[...signingSecrets(TEST_ENV.FORWARD_SIGNING_SECRET), TEST_ENV.ALERT_SIGNING_SECRET],
			0,
			// The relay below gives up after 3 s; the outage lasts 20 s, past the breaker's opening.
			new SimulatedFailures(3000, 20_000),
		);
		const failingRelay = await startRelay({
			...(await relayPorts("simulate")),
			vars: {
				FORWARD_URL: failing.url,
				ALERT_URL: failing.url.replace("/events", "/alerts"),
				FORWARD_TIMEOUT_MS: "3000",
				FORWARD_RETRY_SCHEDULE: "2,2,4,8,16,32,64",
			},
		});
		try {
			const simulator = runScript(
				"scripts/simulate.ts",
				["--url", failingRelay.url, "--count", "12", "--seed", "7", "--rate", "0", "--json", "--failures"],
				{
					DEV_VARS_FILE: join(failingRelay.persistTo, "no-such.dev.vars"),
					BANDWIDTH_USERNAME: TEST_ENV.BANDWIDTH_USERNAME,
					BANDWIDTH_PASSWORD: TEST_ENV.BANDWIDTH_PASSWORD,
					ADMIN_TOKEN: TEST_ENV.ADMIN_TOKEN,
				},
			);
			const exit = await simulator.exited;
			const output = simulator.lines.join("\n");
			// Storage is untouched by what the sink answers: the check still matches every message.
			expect(exit.code, `${output}\n--- relay ---\n${failingRelay.recentOutput()}`).toBe(0);
			expect(output).toContain("failures asked of the local sink (--failures):");
			expect(output).toMatch(/\d+ events answered 410 Gone: dead; replay them/);
			const summary = JSON.parse(simulator.lines.find((line) => line.startsWith("{")) ?? "null") as Summary;

			// The outage trips the breaker (an alert), which probes, closes, and says so.
			const alerts = () => failing.lines.filter((line) => line.includes("⚑ alert"));
			await waitUntil(
				() => alerts().some((line) => /relay\.destination\.recovered {2}default/.test(line)),
				150_000,
				() => `${alerts().join("\n")}\n${failingRelay.recentOutput()}`,
			);
			expect(alerts().some((line) => /relay\.destination\.paused {2}default {2}cause breaker/.test(line))).toBe(true);
			expect(failing.lines.some((line) => /✗ 503 .*simulated outage/.test(line))).toBe(true);
			expect(failing.lines.some((line) => /✗ 503 .*simulated failure/.test(line))).toBe(true);
			expect(failing.lines.some((line) => /✗ 204 .*simulated timeout/.test(line))).toBe(true);

			// The 410s are dead, nothing else is: every other event reaches the sink.
			const dead = await adminListAll<Delivery>(failingRelay, "/v1/deliveries?status=dead&current=true");
			expect(dead.length).toBeGreaterThan(0);
			expect(failing.lines.some((line) => /✗ 410 .*simulated 410 Gone/.test(line))).toBe(true);
			const missing = async () => {
				const stored = (
					await adminListAll<{ id: string }>(
						failingRelay,
						`/v1/events?since=${new Date(Date.now() - 3 * 3600_000).toISOString()}`,
					)
				).map((event) => event.id);
				const lost = stored.filter((id) => !failing.verifiedIds().has(id));
				const { body } = await adminGet<unknown>(
					failingRelay,
					`/v1/deliveries/status?eventIds=${lost.slice(0, 100).join(",")}`,
				);
				return `${lost.length} not delivered: ${JSON.stringify(body)}\n${failing.lines.slice(-40).join("\n")}`;
			};
			let why = "";
			await waitUntil(
				async () => failing.verifiedIds().size >= summary.events - dead.length,
				90_000,
				() => why,
			).catch(async (error: Error) => {
				why = await missing();
				throw new Error(`${error.message}${why}`);
			});
			// Replayed, they are delivered: the sink answers a 410 only once per event.
			const replay = await fetch(`${failingRelay.url}/v1/replay`, {
				method: "POST",
				headers: { authorization: `Bearer ${TEST_ENV.ADMIN_TOKEN}`, "content-type": "application/json" },
				body: JSON.stringify({ dead: true }),
			});
			expect(await replay.json()).toMatchObject({ enqueued: dead.length });
			await failing.waitForEvents(summary.events, 30_000);
		} finally {
			await failingRelay.stop();
			await failing.close();
		}
	}, 300_000);
});
