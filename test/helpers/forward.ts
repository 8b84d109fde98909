import { createExecutionContext, createMessageBatch, getQueueResult, type QueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { eventIdOf } from "../../src/bandwidth/event-id";
import { attemptDays, attemptsTable } from "../../src/db/attempts.repository";
import type { ForwardJob } from "../../src/forward/forward-job";
import worker from "../../src/index";
import { postCallback } from "./callback";
import { waitForAllForwarded, waitForForwarded } from "./downstream";
import { element } from "./fixtures";
import { eventsOf } from "./storage";
import { BACKGROUND_WAIT_MS } from "./wait";

export const FORWARD_QUEUE_NAME = "bandwidth-relay-forward";

export interface StoredEvent {
	id: string;
	json: string;
	messageId: string;
}

/** An event as the relay stores it: posted as a real callback, read back from D1, forwarded once. */
export async function storedEvent(
	sampleName = "spec2026__message-delivered_sms.object.json",
	overrides: Parameters<typeof element>[1] = {},
): Promise<StoredEvent> {
	const event = element(sampleName, overrides);
	const response = await postCallback([event]);
	if (response.status !== 200) throw new Error(`callback answered ${response.status}`);
	const id = await eventIdOf({ type: event.type, messageId: event.message.id, to: event.to, time: event.time });
	const row = await vi.waitUntil(
		async () => (await eventsOf(event.message.id)).find((candidate) => candidate.id === id),
		{ timeout: BACKGROUND_WAIT_MS, interval: 20 },
	);
	// The real queue forwards it to the default downstream in the background (a first-try success:
	// counted, no deliveries row); let that finish, its count written too, so a test's own consumer
	// runs are what follows.
	await waitForForwarded(id);
	await waitForFirstTries([id]);
	return { id: row.id, json: row.normalized_json, messageId: event.message.id };
}

/**
 * `count` stored events posted as one callback, with one poll for all of them: 25 storedEvent() at
 * once are 25 pollers reading the downstream's whole record every 20 ms, slow enough on a loaded
 * 2-core machine to run past the wait.
 */
export async function storedEvents(
	count: number,
	sampleName = "spec2026__message-delivered_sms.object.json",
): Promise<StoredEvent[]> {
	const elements = Array.from({ length: count }, () => element(sampleName));
	const response = await postCallback(elements);
	if (response.status !== 200) throw new Error(`callback answered ${response.status}`);
	const ids = await Promise.all(
		elements.map((e) => eventIdOf({ type: e.type, messageId: e.message.id, to: e.to, time: e.time })),
	);
	const events = await vi.waitUntil(
		async () => {
			const rows = (await Promise.all(elements.map((e) => eventsOf(e.message.id)))).flat();
			const found = ids.map((id) => rows.find((row) => row.id === id));
			return found.every((row) => row !== undefined) ? found : undefined;
		},
		{ timeout: BACKGROUND_WAIT_MS, interval: 50 },
	);
	await waitForAllForwarded(ids);
	await waitForFirstTries(ids);
	return events.map((row, i) => ({ id: row.id, json: row.normalized_json, messageId: elements[i]!.message.id }));
}

export function jobFor(event: StoredEvent, inline = true): ForwardJob {
	return inline ? { eventId: event.id, event: event.json } : { eventId: event.id };
}

export type Retry = { msgId: string; delaySeconds: number | undefined };

/**
 * Runs the forward consumer on one batch with some settings changed, as the queue would. The
 * plugin's QueueResult does not keep retry delays, so the batch's retry() is observed directly.
 */
export async function consume(
	bodies: Array<{ body: unknown; attempts?: number; id?: string }>,
	vars: Partial<Record<keyof Env, string>>,
	queue = FORWARD_QUEUE_NAME,
): Promise<{ result: QueueResult; retries: Retry[]; ids: string[] }> {
	const messages = bodies.map(({ body, attempts, id }) => ({
		id: id ?? crypto.randomUUID(),
		timestamp: new Date(),
		attempts: attempts ?? 1,
		body,
	}));
	const batch = createMessageBatch(queue, messages);
	const retries: Retry[] = [];
	for (const message of batch.messages) {
		const retry = message.retry.bind(message);
		message.retry = (options?: QueueRetryOptions) => {
			retries.push({ msgId: message.id, delaySeconds: options?.delaySeconds });
			retry(options);
		};
	}
	const ctx = createExecutionContext();
	await worker.queue(batch, { ...env, ...vars } as Env);
	const result = await getQueueResult(batch, ctx);
	return { result, retries, ids: messages.map((message) => message.id) };
}

export type DeliveryCounts = { delivered: number; skipped: number };

/**
 * First tries recorded in the per-day `attempts_YYYYMMDD` tables (src/db/attempts.repository.ts),
 * summed over every day so that a delta taken across midnight is still right.
 */
export async function deliveryCounts(): Promise<DeliveryCounts> {
	const counts = { delivered: 0, skipped: 0 };
	for (const day of await attemptDays(env.DB)) {
		const rows = await env.DB.prepare(
			`SELECT json_extract(e.value, '$[2]') AS outcome, count(*) AS n FROM ${attemptsTable(day)} a, json_each(a.entries) e GROUP BY 1`,
		).all<{ outcome: string; n: number }>();
		for (const row of rows.results) {
			if (row.outcome === "delivered" || row.outcome === "skipped") counts[row.outcome] += row.n;
		}
	}
	return counts;
}

/**
 * The counts once the real queue's consumer has stopped adding to them: it writes them just after
 * its POSTs reached the downstream, so a test that waited for a forward may still see them move.
 */
export async function settledDeliveryCounts(quietMs = 150): Promise<DeliveryCounts> {
	let last = await deliveryCounts();
	for (;;) {
		await new Promise((resolve) => setTimeout(resolve, quietMs));
		const now = await deliveryCounts();
		if (now.delivered === last.delivered && now.skipped === last.skipped) return now;
		last = now;
	}
}

/** How much `run` (e.g. a consume()) grew the first-try counts, the background being settled first. */
export async function countedDuring<T>(run: () => Promise<T>): Promise<{ result: T; counted: DeliveryCounts }> {
	const before = await settledDeliveryCounts();
	const result = await run();
	const after = await deliveryCounts();
	return {
		result,
		counted: { delivered: after.delivered - before.delivered, skipped: after.skipped - before.skipped },
	};
}

/**
 * The first-try outcomes recorded for these events only: a global before/after delta also counts
 * the forwards of events an earlier test posted, which on a busy machine can land at any time.
 */
export async function firstTryOutcomesOf(eventIds: readonly string[]): Promise<Map<string, string[]>> {
	const outcomes = new Map(eventIds.map((id) => [id, [] as string[]]));
	for (const day of await attemptDays(env.DB)) {
		const rows = await env.DB.prepare(
			`SELECT json_extract(e.value, '$[0]') AS event_id, json_extract(e.value, '$[2]') AS outcome
			 FROM ${attemptsTable(day)} a, json_each(a.entries) e
			 WHERE json_extract(e.value, '$[0]') IN (SELECT value FROM json_each(?1))`,
		)
			.bind(JSON.stringify(eventIds))
			.all<{ event_id: string; outcome: string }>();
		for (const row of rows.results) outcomes.get(row.event_id)?.push(row.outcome);
	}
	return outcomes;
}

/** Waits until each of these events has a first-try entry; answers every event's outcomes. */
export async function waitForFirstTries(
	eventIds: readonly string[],
	timeout = BACKGROUND_WAIT_MS,
): Promise<Map<string, string[]>> {
	return vi.waitUntil(
		async () => {
			const outcomes = await firstTryOutcomesOf(eventIds);
			return [...outcomes.values()].every((list) => list.length > 0) ? outcomes : undefined;
		},
		{ timeout, interval: 20 },
	);
}

/** An event's first-try entries, in whichever day's table holds them. */
export async function firstTriesOf(eventId: string): Promise<string[]> {
	const found: string[] = [];
	for (const day of await attemptDays(env.DB)) {
		const rows = await env.DB.prepare(
			`SELECT e.value AS entry FROM ${attemptsTable(day)} a, json_each(a.entries) e WHERE json_extract(e.value, '$[0]') = ?1`,
		)
			.bind(eventId)
			.all<{ entry: string }>();
		found.push(...rows.results.map((row) => row.entry));
	}
	return found;
}
