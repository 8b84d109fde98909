import { Bench } from "tinybench";
import type { Template } from "./payloads.ts";
import type { RelayInternals } from "./src-bundle.ts";

/*
 * Per-event CPU of the relay's own logic, in Node (same V8 as workerd). Each iteration handles
 * every fixture element once, so timer resolution does not matter; results are per event.
 * SHA-256 goes through Node's WebCrypto, which hops to a thread pool (workerd's does not), so
 * the full-prepare figure is an upper bound for the hashing part.
 */

export interface MicroResult {
	elements: number;
	/** Mean µs per event. */
	parseUs: number;
	validateUs: number;
	validateNormalizeUs: number;
	eventIdUs: number;
	prepareElementUs: number;
}

const RECEIVED_AT = "2026-11-26T12:00:00.000Z";

export async function runMicro(internals: RelayInternals, templates: readonly Template[]): Promise<MicroResult> {
	const texts = templates.map((t, i) => `${t.before}micro${String(i).padStart(24, "0")}${t.after}`);
	const elements = texts.map((text) => JSON.parse(text) as unknown);
	const n = elements.length;
	const { classifyElement, normalizeEvent, eventRecordOf, eventIdOf, prepareElement } = internals;
	let sink = 0;

	const bench = new Bench({ time: 1000, warmup: true });
	bench
		.add("JSON.parse", () => {
			for (const text of texts) sink += (JSON.parse(text) as object) ? 1 : 0;
		})
		.add("validate", () => {
			for (const element of elements) sink += classifyElement(element).kind === "event" ? 1 : 0;
		})
		.add("validate + normalize + serialize", () => {
			for (const element of elements) {
				const classified = classifyElement(element) as { kind: string; element: unknown; info: unknown };
				if (classified.kind !== "event") continue;
				const event = normalizeEvent({
					id: "evt_micro",
					element: classified.element,
					raw: element,
					info: classified.info,
					receivedAt: RECEIVED_AT,
				});
				sink += eventRecordOf(event, event.time).normalized_json.length;
			}
		})
		.add("event id (SHA-256)", async () => {
			for (const t of templates) {
				sink += (await eventIdOf({ type: t.type, messageId: "micro", to: t.to, time: t.time })).length;
			}
		})
		.add("prepareElement (all of the above)", async () => {
			for (const element of elements) sink += (await prepareElement(element, RECEIVED_AT)).kind.length;
		});
	await bench.run();
	if (sink === 0) throw new Error("micro-benchmark did no work");

	const perEventUs = (name: string) => {
		const result = bench.getTask(name)?.result;
		if (result === undefined || !("latency" in result)) throw new Error(`micro-benchmark ${name} did not complete`);
		return (result.latency.mean * 1000) / n;
	};
	return {
		elements: n,
		parseUs: perEventUs("JSON.parse"),
		validateUs: perEventUs("validate"),
		validateNormalizeUs: perEventUs("validate + normalize + serialize"),
		eventIdUs: perEventUs("event id (SHA-256)"),
		prepareElementUs: perEventUs("prepareElement (all of the above)"),
	};
}
