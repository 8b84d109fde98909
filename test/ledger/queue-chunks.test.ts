import { describe, expect, it } from "vitest";
import { SEQUENCE_PLACEHOLDER, withSequence } from "../../src/db/events.repository";
import { chunkForQueue, INLINE_EVENT_MAX_BYTES } from "../../src/ledger/queue-chunks";

const encoder = new TextEncoder();
const row = (sequence: number, bytes: number) => ({
	id: `evt_${sequence}`,
	message_id: "msg-1",
	sequence,
	normalized_json: JSON.stringify({ pad: "x".repeat(bytes - 10) }),
});

describe("chunkForQueue", () => {
	it("keeps every sendBatch within 100 messages and 256 KB", () => {
		const rows = Array.from({ length: 250 }, (_, i) => row(i + 1, 2_000 + (i % 7) * 3_000));
		const chunks = chunkForQueue(rows);
		expect(chunks.flatMap((chunk) => chunk.rows)).toEqual(rows);
		for (const chunk of chunks) {
			expect(chunk.messages.length).toBeLessThanOrEqual(100);
			const bytes = chunk.messages.reduce((sum, m) => sum + encoder.encode(JSON.stringify(m.body)).byteLength, 0);
			expect(bytes).toBeLessThanOrEqual(256 * 1024);
		}
	});

	it("sends an event over the inline limit as its id and message id, for the consumer to read from the ledger", () => {
		const [chunk] = chunkForQueue([row(1, INLINE_EVENT_MAX_BYTES + 1), row(2, 500)]);
		expect(chunk!.messages.map((m) => m.body)).toEqual([
			{ eventId: "evt_1", messageId: "msg-1" },
			{ eventId: "evt_2", event: row(2, 500).normalized_json },
		]);
		expect(chunk!.messages.every((m) => m.contentType === "json")).toBe(true);
	});

	it("measures an event as the queue carries it, escaped inside the job", () => {
		// A quoted CSV pasted into a text: 84 KB as stored, about 140 KB once escaped again.
		const quoted = {
			id: "evt_q",
			message_id: "msg-1",
			sequence: 1,
			normalized_json: JSON.stringify({ text: '"a","b"\n'.repeat(6_000) }),
		};
		expect(encoder.encode(quoted.normalized_json).byteLength).toBeLessThan(INLINE_EVENT_MAX_BYTES);
		expect(chunkForQueue([quoted])[0]!.messages[0]!.body).toEqual({ eventId: "evt_q", messageId: "msg-1" });
		const rows = Array.from({ length: 40 }, (_, i) => ({
			id: `evt_${i}`,
			message_id: "msg-1",
			sequence: i + 1,
			normalized_json: JSON.stringify({ text: '"x",'.repeat(2_000) }),
		}));
		for (const chunk of chunkForQueue(rows)) {
			const bytes = chunk.messages.reduce((sum, m) => sum + encoder.encode(JSON.stringify(m.body)).byteLength, 0);
			expect(bytes).toBeLessThanOrEqual(256 * 1024);
		}
	});

	it("counts bytes, not characters", () => {
		const wide = {
			id: "evt_w",
			message_id: "msg-1",
			sequence: 1,
			normalized_json: JSON.stringify({ t: "€".repeat(40_000) }),
		};
		expect(wide.normalized_json.length).toBeLessThan(INLINE_EVENT_MAX_BYTES);
		expect(chunkForQueue([wide])[0]!.messages[0]!.body).toEqual({ eventId: "evt_w", messageId: "msg-1" });
	});
});

describe("withSequence", () => {
	it("fills in the sequence key even when earlier values look like it", () => {
		const event = { id: 'evt_"sequence":0,', subject: '"sequence":0,', data: { messageId: "m", sequence: 0, n: 1 } };
		const json = JSON.stringify(event);
		expect(json).toContain(SEQUENCE_PLACEHOLDER);
		expect(JSON.parse(withSequence(json, 42))).toEqual({ ...event, data: { ...event.data, sequence: 42 } });
	});
});
