import { meter } from "./meter";

/*
 * Queues bills one operation per 64 KB written, read or deleted, per message (a delivered message
 * is a write, a read and a delete; each retry is one more read). Queues pricing: a KB is 1,000
 * bytes and each message carries about 100 bytes of metadata.
 */
const OPERATION_BYTES = 64_000;
const MESSAGE_METADATA_BYTES = 100;

const encoder = new TextEncoder();

/** The body as Queues stores it; a structured-clone ("v8") body is measured as its JSON. */
function bodyBytes(body: unknown, contentType?: QueueContentType): number {
	if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return body.byteLength;
	if (typeof body === "string" && contentType === "text") return encoder.encode(body).byteLength;
	return encoder.encode(JSON.stringify(body) ?? "").byteLength;
}

/** Operations one write, one read or one delete of this message costs. */
export function queueOpsOf(body: unknown, contentType?: QueueContentType): number {
	return Math.ceil((bodyBytes(body, contentType) + MESSAGE_METADATA_BYTES) / OPERATION_BYTES);
}

/** The producer side: each message sent is one write per 64 KB. */
export function meteredQueue<Body>(queue: Queue<Body>): Queue<Body> {
	return {
		metrics: () => queue.metrics(),
		async send(body, options) {
			const response = await queue.send(body, options);
			meter.add("queueOps", queueOpsOf(body, options?.contentType));
			meter.add("queueMessages");
			return response;
		},
		async sendBatch(messages, options) {
			const list = [...messages];
			const response = await queue.sendBatch(list, options);
			for (const message of list) meter.add("queueOps", queueOpsOf(message.body, message.contentType));
			meter.add("queueMessages", list.length);
			return response;
		},
	};
}
