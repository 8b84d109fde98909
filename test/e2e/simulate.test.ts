import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signingSecrets } from "../../scripts/lib/dev-vars.ts";
import type { Summary } from "../../scripts/simulate/summary.ts";
import { TEST_ENV } from "../setup/test-env.ts";
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
});
