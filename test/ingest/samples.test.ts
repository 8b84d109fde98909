import { describe, expect, it } from "vitest";
import { EVENT_TYPES } from "../../src/bandwidth/event-types";
import { postCallback } from "../helpers/callback";
import { type BandwidthElement, elementsOf, newMessageId, rawSample, SAMPLE_NAMES } from "../helpers/fixtures";
import { statusesOf, waitForEvents } from "../helpers/storage";

const KNOWN = EVENT_TYPES as Record<string, { type: string; status: string | null }>;

/** Gives every element of a sample fresh message ids (one per original id) and returns the body as sent. */
function withFreshIds(name: string): { body: BandwidthElement[]; ids: Map<string, string> } {
	const ids = new Map<string, string>();
	const body = elementsOf(name).map((element) => {
		const id = ids.get(element.message.id) ?? newMessageId();
		ids.set(element.message.id, id);
		return { ...element, message: { ...element.message, id } };
	});
	return { body, ids };
}

describe.each(SAMPLE_NAMES)("sample %s", (name) => {
	it.each([
		["as an array", false],
		["as a bare object", true],
	])("is stored with its type, status, recipient and error %s", async (_, bare) => {
		const { body } = withFreshIds(name);
		const first = body[0]!;
		if (bare && body.length !== 1) return expect(body.length).toBeGreaterThan(1);
		const response = await postCallback(bare ? first : body);
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({
			received: body.length,
			stored: body.length,
			duplicates: 0,
			quarantined: 0,
		});

		const [row] = await waitForEvents(first.message.id, 1);
		const expected = KNOWN[first.type] ?? { type: "bandwidth.message.unknown", status: null };
		expect(row).toMatchObject({ type: expected.type, recipient: first.to, sequence: 1 });
		const event = JSON.parse(row!.normalized_json);
		expect(event).toMatchObject({ specversion: "1.0", id: row!.id, subject: first.message.id, time: first.time });
		expect(event.data).toMatchObject({ status: expected.status, recipient: first.to, sequence: 1 });
		expect(event.data.bandwidth).toEqual(first);
		expect(JSON.parse((row as unknown as { raw_json: string }).raw_json)).toEqual(first);

		if (first.type === "message-failed" && first.errorCode !== undefined) {
			expect(row!.error_code).toBe(first.errorCode);
			expect(event.data.error).toMatchObject({ code: first.errorCode, category: expect.any(String) });
		} else {
			expect(event.data.error).toBeNull();
		}
		if (expected.status !== null) {
			const statuses = await statusesOf(first.message.id);
			expect(statuses).toContainEqual(expect.objectContaining({ recipient: first.to, status: expected.status }));
		}
	});
});

describe("error enrichment", () => {
	it("describes 4432 from Bandwidth's table", async () => {
		const { body } = withFreshIds("spec2026__message-failed_4432.array.json");
		await postCallback(body);
		const [row] = await waitForEvents(body[0]!.message.id, 1);
		expect(JSON.parse(row!.normalized_json).data.error).toEqual({
			code: 4432,
			name: "rejected-forbidden-country",
			description: "Messaging to country forbidden",
			category: "bandwidth-client",
			billable: false,
			retryable: false,
		});
	});

	it("describes 9902 as ambiguous: the receipt expired, the message may have arrived", async () => {
		const { body } = withFreshIds("ghio2022__message-failed_9902_dlr-timeout.json");
		await postCallback(body);
		const [row] = await waitForEvents(body[0]!.message.id, 1);
		expect(JSON.parse(row!.normalized_json).data.error).toMatchObject({
			code: 9902,
			name: "delivery-receipt-expired",
			category: "ambiguous",
			retryable: false,
		});
	});

	it("derives a category for a code newer than the table", async () => {
		const { body } = withFreshIds("spec2026__message-failed_4432.array.json");
		body[0]!.errorCode = 5677;
		await postCallback(body);
		const [row] = await waitForEvents(body[0]!.message.id, 1);
		expect(JSON.parse(row!.normalized_json).data.error).toEqual({
			code: 5677,
			name: null,
			description: null,
			category: "carrier-server",
			billable: null,
			retryable: true,
		});
	});
});

it("rejects Bandwidth's documented example with a trailing comma as invalid JSON", async () => {
	const response = await postCallback(
		rawSample("ghio2022__message-failed_9902_dlr-timeout.VERBATIM-INVALID.json.txt"),
		{
			raw: true,
		},
	);
	expect(response.status).toBe(400);
	expect(await response.json()).toMatchObject({ error: { code: "invalid_json" } });
});
