import { meter } from "./meter";
import { queueOpsOf } from "./metered-queue";

/*
 * The consumer side of Queues: every message delivered is one read per 64 KB, and every message
 * that ends acknowledged is one delete per 64 KB. A retried message is not deleted; its next
 * delivery is the extra read. What ends acknowledged follows the Queues rules: a message's own
 * first ack() or retry() wins, then the batch's first ackAll() or retryAll(), then the outcome of
 * the handler (returned: acknowledged; threw: retried).
 *
 * A message on a dead-letter queue (a name ending in -dlq, as src/index.ts routes them) was written
 * there by Queues when its own queue gave up on it: one more write per 64 KB, counted on its first
 * delivery from the dead-letter queue (the producer side never sees it).
 */

type Decision = "ack" | "retry";

/** wrangler.toml names the dead-letter queue with this suffix; src/index.ts routes by it. */
export const DEAD_LETTER_SUFFIX = "-dlq";

export interface TrackedBatch<Body> {
	/** Hand this to the handler: acks and retries reach the runtime's batch unchanged. */
	batch: MessageBatch<Body>;
	/** Counts the deletes, once the handler has returned (`ok`) or thrown. */
	settle(ok: boolean): void;
}

export function trackedBatch<Body>(batch: MessageBatch<Body>): TrackedBatch<Body> {
	const own = new Map<Message<Body>, Decision>();
	let all: Decision | null = null;
	const ops = new Map<Message<Body>, number>();
	const deadLettered = batch.queue.endsWith(DEAD_LETTER_SUFFIX);
	for (const message of batch.messages) {
		const count = queueOpsOf(message.body);
		ops.set(message, count);
		meter.add("queueOps", deadLettered && message.attempts <= 1 ? 2 * count : count);
	}
	const decide = (message: Message<Body>, decision: Decision) => {
		if (!own.has(message)) own.set(message, decision);
	};
	const messages = batch.messages.map(
		(message): Message<Body> => ({
			id: message.id,
			timestamp: message.timestamp,
			body: message.body,
			attempts: message.attempts,
			ack() {
				decide(message, "ack");
				message.ack();
			},
			retry(options) {
				decide(message, "retry");
				message.retry(options);
			},
		}),
	);
	return {
		batch: {
			queue: batch.queue,
			metadata: batch.metadata,
			messages,
			ackAll() {
				all ??= "ack";
				batch.ackAll();
			},
			retryAll(options) {
				all ??= "retry";
				batch.retryAll(options);
			},
		},
		settle(ok) {
			for (const message of batch.messages) {
				const decision = own.get(message) ?? all ?? (ok ? "ack" : "retry");
				if (decision === "ack") meter.add("queueOps", ops.get(message) ?? 0);
			}
		},
	};
}
