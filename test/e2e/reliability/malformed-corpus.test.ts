import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRunning } from "../../../scripts/lib/process-group.ts";
import type { RecordingSink } from "../support/recording-sink.ts";
import type { RelayProcess } from "../support/relay-process.ts";
import { cloudEventProblems } from "./support/cloud-event-shape.ts";
import { answerTo } from "./support/corpus/answer.ts";
import { generateCorpus } from "./support/corpus/generate.ts";
import type { CorpusCase } from "./support/corpus/model.ts";
import { answerProblems, quarantineProblems, storageProblems } from "./support/corpus/verify.ts";
import { startRelayAndSink, stopRelayAndSink } from "./support/relay-and-sink.ts";
import {
	adminListAll,
	deliveredTwice,
	postCallback,
	type QuarantineItem,
	type StoredEvent,
	sleep,
	waitForCount,
	waitUntil,
} from "./support/relay-api.ts";
import { planTraffic } from "./support/traffic.ts";

const SEED = 20_261_126;
/** README: MAX_BODY_BYTES defaults to 1 MiB. */
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const SETTLE_MS = 2500;

/** The relay's recent error lines, for the message of a case that got a 5xx or lost its connection. */
function recentErrors(lines: readonly string[]): string {
	return lines
		.slice(-300)
		.filter((line) => /"level":"error"|Error/.test(line))
		.slice(-20)
		.join("\n");
}

function requestDigest(corpusCase: CorpusCase): string {
	const { request } = corpusCase;
	const body = request.body ?? Buffer.concat(request.chunks ?? []);
	return `${corpusCase.name} ${request.method} ${JSON.stringify(request.headers)} ${Buffer.from(body).toString("base64")}`;
}

/**
 * The whole corpus against one relay whose body cap is `maxBodyBytes` (null: wrangler.toml's
 * default). The size cases sit just under and over the cap, so each cap is its own corpus: a
 * quarter of the default keeps those quick, and the default itself is what a deployment runs.
 */
function corpusAgainst(label: string, maxBodyBytes: number | null): void {
	const cap = maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
	const cases = generateCorpus({ seed: SEED, maxBodyBytes: cap });
	const answered = new Set<string>();
	/** Oversized cases sent again after an answer lost in transit, for the record. */
	const resent: string[] = [];
	const lines: string[] = [];
	let relay: RelayProcess;
	let sink: RecordingSink;

	describe(`malformed-input corpus (seed ${SEED}, ${label})`, () => {
		beforeAll(async () => {
			({ relay, sink } = await startRelayAndSink("malformedCorpus", (sinkUrl) => ({
				vars: { FORWARD_URL: sinkUrl, ...(maxBodyBytes === null ? {} : { MAX_BODY_BYTES: String(maxBodyBytes) }) },
				onLine: (line) => lines.push(line),
			})));
		});

		afterAll(() => stopRelayAndSink({ relay, sink }));

		it("has at least 200 distinct cases, and the same ones for the same seed", () => {
			expect(cases.length).toBeGreaterThanOrEqual(200);
			const again = generateCorpus({ seed: SEED, maxBodyBytes: cap });
			expect(again.map(requestDigest)).toEqual(cases.map(requestDigest));
			const families = new Set(cases.map((corpusCase) => corpusCase.name.split("/")[0]));
			expect([...families].sort()).toEqual([
				"arrays",
				"auth",
				"batch",
				"bom",
				"content-type",
				"deep",
				"elements",
				"empty",
				"fields",
				"huge",
				"json",
				"method",
				"mixed",
				"proto",
				"size",
				"unicode",
				"utf8",
			]);
		});

		describe("every answer is the one the case declares: a documented 4xx or a 200 with its counts", () => {
			it.concurrent.for(cases)("$name", async (corpusCase, context) => {
				let problems: string[];
				let serverFault = true;
				try {
					const response = await answerTo(relay.url, corpusCase, resent);
					serverFault = response.status >= 500;
					problems = answerProblems(corpusCase, response);
				} catch (error) {
					problems = [(error as Error).message];
				}
				answered.add(corpusCase.name);
				const named = problems.map((problem) => `${corpusCase.name}: ${problem}`);
				// wrangler prints the Worker's log lines a moment after the answer.
				if (serverFault) await sleep(500);
				context.expect(named, serverFault ? `relay errors:\n${recentErrors(lines)}` : undefined).toEqual([]);
			});
		});

		describe("after the corpus", () => {
			it("never answered a 5xx of the relay's own, even to a case sent again", async () => {
				if (resent.length > 0) console.info(`sent again after a lost answer:\n${resent.join("\n")}`);
				// wrangler prints the Worker's log lines a moment after the answer.
				await sleep(500);
				// The relay's own lines are there to be read: its 400s and 413s are logged one by one.
				expect(lines.some((line) => line.includes('"event":"request_rejected"'))).toBe(true);
				const relay5xx = lines.filter((line) => /"event":"request_(failed|crashed)"/.test(line));
				expect(relay5xx).toEqual([]);
			});

			it("stores each accepted event once, untouched, and forwards it once", async () => {
				expect(answered.size, "cases sent").toBe(cases.length);
				const expected = cases.flatMap((c) => (c.expect.kind === "accepted" ? c.expect.stored : []));
				let events: StoredEvent[] = [];
				await waitForCount(async () => {
					events = await adminListAll<StoredEvent>(relay, "/v1/events");
					return events.length;
				}, expected.length);
				expect(storageProblems(cases, events)).toEqual([]);
				expect(events.length).toBe(expected.length);

				const forwarded = events.filter((event) => ["inbound", "outbound"].includes(event.data.direction ?? ""));
				const arrived = () => forwarded.filter((event) => sink.verifiedIds().has(event.id)).length;
				await waitForCount(arrived, forwarded.length);
				await sleep(SETTLE_MS);
				const missing = forwarded.filter((event) => !sink.verifiedIds().has(event.id));
				expect(
					missing.map((event) => `${event.id} (message ${event.subject.slice(0, 80)})`),
					"not at the sink",
				).toEqual([]);
				expect(deliveredTwice(sink.deliveries.map((delivery) => delivery.webhookId))).toEqual({});
				const stored = new Set(events.map((event) => event.id));
				expect(
					[...sink.verifiedIds()].filter((id) => !stored.has(id)),
					"forwarded but not stored",
				).toEqual([]);
			});

			it("keeps a quarantine row, with a reason naming the path, for every quarantined element", async () => {
				const rows = await adminListAll<QuarantineItem>(relay, "/v1/quarantine");
				expect(quarantineProblems(cases, rows)).toEqual([]);
			});

			it("is still running and takes a valid callback end to end", async () => {
				expect(isRunning(relay.pid), relay.recentOutput()).toBe(true);
				// The previous test's long listing can leave a kept-alive connection that the relay closes
				// just as it is reused ("other side closed", nothing reaches the Worker); a GET may be resent.
				const health = await fetch(`${relay.url}/health`)
					.catch(() => fetch(`${relay.url}/health`))
					.catch((error: Error) => {
						throw new Error(`GET /health: ${error.message}\n${relay.recentOutput()}`);
					});
				expect(health.status).toBe(200);
				const [event] = planTraffic(1, SEED);
				const answer = await postCallback(relay, [event?.element]);
				expect(answer.counts, answer.text).toEqual({ received: 1, stored: 1, duplicates: 0, quarantined: 0 });
				await waitUntil(
					() => sink.verifiedIds().has(event?.eventId ?? ""),
					20_000,
					() => `${event?.eventId} not at the sink`,
				);
				const delivery = sink.deliveries.find((d) => d.webhookId === event?.eventId);
				expect(cloudEventProblems(delivery?.event)).toEqual([]);
			});
		});
	});
}

corpusAgainst("MAX_BODY_BYTES 256 KB", 256 * 1024);
corpusAgainst("the default MAX_BODY_BYTES, 1 MiB", null);
