import { rssBytes, sampleRss, waitForIdle } from "./cpu.ts";
import { payloadGenerator, type Template } from "./payloads.ts";
import type { RunContext } from "./scenarios.ts";
import type { RelayInternals } from "./src-bundle.ts";
import { nowMs, sleep } from "./stats.ts";
import type { Target } from "./targets.ts";

/*
 * Peak memory for a 1 MiB batch (1,000 events, the relay's element cap, texts padded to fill the
 * body cap): in Node, the heap the ingest steps hold at once (bytes, text, parsed elements,
 * prepared entries); in workerd, the runtime's RSS while the relay ingests and drains such batches.
 */

export const BATCH_BYTES = 1_040_000;
const BATCH_EVENTS = 1000;
const WORKERD_BATCHES = 3;
const RECEIVED_AT = "2026-11-26T12:00:00.000Z";

export interface NodeMemoryResult {
	bodyBytes: number;
	elements: number;
	/** Heap + ArrayBuffer growth with every stage still referenced, before and after a full GC. */
	growthBytes: number;
	liveAfterGcBytes: number;
}

export interface WorkerdMemoryResult {
	batches: number;
	bodyBytes: number;
	baselineRssBytes: number;
	peakRssBytes: number;
	ackMs: number[];
	statuses: number[];
}

/** Templates that have a text to pad, so 1,000 of them can fill 1 MiB. */
function textTemplates(templates: readonly Template[]): Template[] {
	return templates.filter((t) => `${t.before}${t.after}`.includes('"text":"'));
}

export function oneMiBBatches(templates: readonly Template[], count: number, seed: number): string[] {
	const next = payloadGenerator(textTemplates(templates), {
		batchSize: BATCH_EVENTS,
		repeatRatio: 0,
		seed,
		padToBytes: BATCH_BYTES,
	});
	return Array.from({ length: count }, () => next().body);
}

function used(): number {
	const usage = process.memoryUsage();
	return usage.heapUsed + usage.arrayBuffers;
}

export async function nodeMemoryFor1MiB(
	internals: RelayInternals,
	templates: readonly Template[],
): Promise<NodeMemoryResult | null> {
	const gc = (globalThis as { gc?: () => void }).gc;
	if (gc === undefined) return null;
	const [body] = oneMiBBatches(templates, 1, 5) as [string];
	gc();
	const base = used();
	const bytes = new TextEncoder().encode(body);
	const text = new TextDecoder().decode(bytes);
	const elements = JSON.parse(text) as unknown[];
	const prepared = await Promise.all(elements.map((element) => internals.prepareElement(element, RECEIVED_AT)));
	const growthBytes = used() - base;
	gc();
	const liveAfterGcBytes = used() - base;
	// Everything stays referenced until both readings are taken.
	if (prepared.length !== elements.length || bytes.length === 0) throw new Error("unreachable");
	return { bodyBytes: bytes.length, elements: elements.length, growthBytes, liveAfterGcBytes };
}

export async function workerdMemoryFor1MiB(ctx: RunContext, relay: Target): Promise<WorkerdMemoryResult> {
	const bodies = oneMiBBatches(ctx.templates, WORKERD_BATCHES, 11);
	await waitForIdle(ctx.dev.workerdPids);
	await ctx.sink.reset();
	const baselineRssBytes = rssBytes(ctx.dev.runtimePid);
	const sampler = sampleRss(ctx.dev.runtimePid, 10);
	const ackMs: number[] = [];
	const statuses: number[] = [];
	for (const body of bodies) {
		const started = nowMs();
		const response = await fetch(relay.url, {
			method: "POST",
			headers: { ...relay.headers, "content-type": "application/json" },
			body,
		});
		await response.arrayBuffer();
		ackMs.push(nowMs() - started);
		statuses.push(response.status);
	}
	const expected = BATCH_EVENTS * statuses.filter((status) => status === 200).length;
	const deadline = Date.now() + ctx.config.drainTimeoutSeconds * 1000;
	while ((await ctx.sink.counts()).relay.unique < expected && Date.now() < deadline) await sleep(100);
	const peakRssBytes = sampler.stop();
	return {
		batches: bodies.length,
		bodyBytes: Buffer.byteLength(bodies[0]!),
		baselineRssBytes,
		peakRssBytes,
		ackMs,
		statuses,
	};
}
