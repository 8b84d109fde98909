import { createExecutionContext, createMessageBatch, getQueueResult, type QueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { eventIdOf } from "../../src/bandwidth/event-id";
import type { ForwardJob } from "../../src/forward/forward-job";
import worker from "../../src/index";
import { postCallback } from "./callback";
import { element } from "./fixtures";
import { eventsOf, waitForDeliveries } from "./storage";

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
	const row = await vi.waitUntil(async () =>
		(await eventsOf(event.message.id)).find((candidate) => candidate.id === id),
	);
	// The real queue forwards it to the default downstream in the background; let that finish so
	// a test's own consumer runs are the only deliveries rows that follow.
	await waitForDeliveries(id, 1);
	return { id: row.id, json: row.normalized_json, messageId: event.message.id };
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
