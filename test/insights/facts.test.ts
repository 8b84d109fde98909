import { describe, expect, it } from "vitest";
import { judge, windowsOf } from "../../src/insights/deliverability-alerts";
import {
	decodeFact,
	type EarlierEvent,
	encodeFact,
	type Fact,
	type FactEvent,
	factOf,
	insightInputOf,
} from "../../src/insights/facts";
import { binOf, LATENCY_BINS, percentileOf, representative } from "../../src/insights/latency-sketch";
import { remediationOf } from "../../src/insights/remediation";
import { addFact, mergeTally, type Tally } from "../../src/insights/tally";

/* The pure parts of the insights: what an event counts, how facts are stored, summed and judged. */

const HOUR = 3_600_000;
const APP = "93de2206-9669-4e07-948d-329f4b722ee2";
const SENDER = "+19195550100";
const RECIPIENT = "+14155550101";
const SENT_AT = Date.parse("2026-12-01T09:59:30.000Z");

function outbound(status: string, time: string, extra: Partial<FactEvent> = {}): FactEvent {
	return {
		type: `bandwidth.message.${status}`,
		status: status as FactEvent["status"],
		direction: "outbound",
		recipient: RECIPIENT,
		from: SENDER,
		// Bandwidth's delivered samples carry the recipient as owner: the number is still the sender.
		owner: status === "delivered" ? RECIPIENT : SENDER,
		applicationId: APP,
		errorCode: null,
		eventTime: time,
		receivedAt: time,
		input: { messageTime: new Date(SENT_AT).toISOString(), media: false },
		...extra,
	};
}

/** Runs events through factOf in order, each seeing the earlier ones' stored facts. */
function decide(events: FactEvent[]): Array<Fact | null> {
	const earlier: EarlierEvent[] = [];
	return events.map((event) => {
		const fact = factOf(event, earlier);
		// As a ledger row keeps it: only the counts, the key comes from the row.
		earlier.push({ recipient: event.recipient, status: event.status, fact: decodeFact(encodeFact(fact)) });
		return fact;
	});
}

describe("what an event counts", () => {
	it("counts sending once, delivery once, with the latency from the send event's own time, in the send hour", () => {
		const [sending, sent, delivered] = decide([
			outbound("sending", "2026-12-01T09:59:31.000Z"),
			outbound("sent", "2026-12-01T09:59:33.000Z"),
			outbound("delivered", "2026-12-01T10:00:05.500Z"),
		]);
		expect(sending).toEqual({
			hour: Math.floor(SENT_AT / HOUR),
			applicationId: APP,
			number: SENDER,
			sentAt: Date.parse("2026-12-01T09:59:31.000Z"),
		});
		expect(sent).toBeNull();
		// 09:59:31 → 10:00:05.5, and counted in the 09:00 hour of the message, not 10:00 of the receipt.
		expect(delivered).toEqual({
			hour: Math.floor(SENT_AT / HOUR),
			applicationId: APP,
			number: SENDER,
			latencyMs: 34_500,
		});
	});

	it("counts a delivery that overtook its send from message.time, and as sent; the late send counts nothing", () => {
		const [delivered, sending] = decide([
			outbound("delivered", "2026-12-01T09:59:40.000Z"),
			outbound("sending", "2026-12-01T09:59:31.000Z"),
		]);
		expect(delivered).toMatchObject({ sentAt: 0, latencyMs: 10_000 });
		expect(sending).toBeNull();
	});

	it("counts the first final status only: a delivery after a 9902 timeout is not a second receipt", () => {
		const [failed, delivered, again] = decide([
			outbound("failed", "2026-12-01T11:59:30.000Z", { errorCode: 9902 }),
			outbound("delivered", "2026-12-01T12:10:00.000Z"),
			outbound("failed", "2026-12-01T12:11:00.000Z", { errorCode: 4432 }),
		]);
		expect(failed).toMatchObject({ failedCode: 9902 });
		expect(failed?.sentAt).toBeUndefined();
		expect(delivered).toBeNull();
		expect(again).toBeNull();
	});

	it("counts each recipient of a group message on its own", () => {
		const other = "+14155550102";
		const facts = decide([
			outbound("sending", "2026-12-01T09:59:31.000Z"),
			outbound("sending", "2026-12-01T09:59:31.000Z", { recipient: other }),
			outbound("delivered", "2026-12-01T09:59:35.000Z"),
			outbound("failed", "2026-12-01T09:59:36.000Z", { recipient: other, errorCode: 4720 }),
		]);
		expect(facts.map((fact) => fact !== null && fact.sentAt !== undefined)).toEqual([true, true, false, false]);
		expect(facts[2]).toMatchObject({ latencyMs: 4000 });
		expect(facts[3]).toMatchObject({ failedCode: 4720 });
	});

	it("counts a failure without an errorCode under code 0, and never a negative latency", () => {
		const [failed] = decide([outbound("failed", "2026-12-01T10:00:00.000Z")]);
		expect(failed).toMatchObject({ failedCode: 0 });
		const [delivered] = decide([outbound("delivered", "2026-12-01T09:00:00.000Z")]);
		expect(delivered).toMatchObject({ latencyMs: 0 });
	});

	it("counts inbound messages as SMS or MMS by their media, under the receiving number, once per recipient", () => {
		const inbound = (media: boolean, time = "2026-12-01T10:00:00.000Z"): FactEvent => ({
			...outbound("received", time),
			type: "bandwidth.message.received",
			status: "received",
			direction: "inbound",
			recipient: SENDER,
			from: RECIPIENT,
			owner: SENDER,
			input: { messageTime: time, media },
		});
		expect(decide([inbound(false)])[0]).toMatchObject({ number: SENDER, received: "sms" });
		expect(decide([inbound(true), inbound(true, "2026-12-01T10:00:01.000Z")])).toEqual([
			expect.objectContaining({ received: "mms" }),
			null,
		]);
		// An RBM suggestion response is inbound and "received", but not a message.
		expect(decide([{ ...inbound(false), type: "bandwidth.message.suggestion_response" }])).toEqual([null]);
	});

	it("takes the recipient's earlier events stored before insights from their status", () => {
		const before: EarlierEvent[] = [{ recipient: RECIPIENT, status: "delivered", fact: null }];
		expect(factOf(outbound("failed", "2026-12-01T10:00:00.000Z", { errorCode: 4432 }), before)).toBeNull();
		expect(factOf(outbound("sending", "2026-12-01T10:00:00.000Z"), before)).toBeNull();
	});

	it("caps a message.time later than the receipt at the receipt", () => {
		const future = outbound("sending", "2026-12-01T10:00:00.000Z", {
			input: { messageTime: "2026-12-03T00:00:00.000Z", media: false },
		});
		expect(factOf(future, [])?.hour).toBe(Math.floor(Date.parse("2026-12-01T10:00:00.000Z") / HOUR));
	});
});

describe("what the ledger reads from the event's JSON", () => {
	it("finds data's own messageTime and media, whatever the text or the original element hold", () => {
		const event = (messageTime: string | null, media: string[]) =>
			JSON.stringify({
				id: "evt_x",
				subject: '"messageTime":"2001-01-01T00:00:00Z","media":["x"]',
				data: {
					text: 'say "messageTime":"1999-01-01T00:00:00Z" and "media":["a"]',
					media,
					messageTime,
					bandwidth: { message: { time: "1998-01-01T00:00:00Z", media: ["b"] } },
				},
			});
		expect(insightInputOf(event("2026-12-01T09:59:30.123456+01:00", []))).toEqual({
			messageTime: "2026-12-01T08:59:30.123Z",
			media: false,
		});
		expect(insightInputOf(event(null, ["https://example.com/a.png"]))).toEqual({ messageTime: null, media: true });
		expect(insightInputOf(event("not a time", []))).toEqual({ messageTime: null, media: false });
	});
});

describe("a stored fact", () => {
	it("keeps only the counts, in a few bytes, and reads back what was stored", () => {
		const fact: Fact = { hour: 493_712, applicationId: APP, number: SENDER, sentAt: 0, latencyMs: 2345 };
		expect(encodeFact(fact)).toBe("493712|0|2345||");
		expect(decodeFact("493712|0|2345||", { applicationId: APP, number: SENDER })).toEqual(fact);
		expect(encodeFact({ ...fact, sentAt: undefined, latencyMs: undefined, received: "mms" })).toBe("493712||||m");
		for (const text of [null, "", "x", "1|2|3|4", "1|a|||", '{"h":1}']) expect(decodeFact(text)).toBeNull();
	});
});

describe("the latency sketch", () => {
	it("reports a percentile within 12.2 % of the exact nearest-rank value", () => {
		let seed = 7;
		const random = () => {
			seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
			return seed / 2 ** 31;
		};
		const samples = Array.from({ length: 5000 }, () => Math.round(300 * 10 ** (random() * 5)));
		const bins = new Array<number>(LATENCY_BINS).fill(0);
		for (const sample of samples) bins[binOf(sample)] = (bins[binOf(sample)] ?? 0) + 1;
		const sorted = [...samples].sort((a, b) => a - b);
		for (const quantile of [0.5, 0.95, 0.99]) {
			const exact = sorted[Math.ceil(quantile * sorted.length) - 1] ?? 0;
			const reported = percentileOf(bins, quantile) ?? 0;
			expect(Math.abs(reported - exact) / exact).toBeLessThanOrEqual(0.1225);
		}
	});

	it("puts every value in the bin whose bounds hold it, the extremes in the first and last bins", () => {
		expect(binOf(0)).toBe(0);
		expect(binOf(249)).toBe(0);
		expect(binOf(250)).toBe(1);
		expect(binOf(73 * HOUR)).toBeLessThan(LATENCY_BINS - 1);
		expect(binOf(200 * HOUR)).toBe(LATENCY_BINS - 1);
		// Within 2^(1/6) − 1 ≈ 12.2 % of the value, plus half a millisecond of rounding.
		for (let ms = 250; ms < 10 * HOUR; ms = Math.ceil(ms * 1.07)) {
			expect(Math.abs(representative(binOf(ms)) - ms)).toBeLessThanOrEqual(0.1225 * ms + 0.5);
		}
		expect(percentileOf(new Array<number>(LATENCY_BINS).fill(0), 0.5)).toBeNull();
	});
});

describe("tallies", () => {
	it("add up facts per key and merge", () => {
		const a: Tally = {};
		const b: Tally = {};
		const key = { hour: 1, applicationId: APP, number: SENDER };
		addFact(a, { ...key, sentAt: 5 });
		addFact(a, { ...key, latencyMs: 1000 });
		addFact(b, { ...key, failedCode: 4470 });
		addFact(b, { ...key, failedCode: 4470 });
		addFact(b, { ...key, received: "mms" });
		mergeTally(a, b);
		expect(Object.values(a)).toEqual([
			{
				...key,
				sent: 1,
				delivered: 1,
				failed: 2,
				receivedSms: 0,
				receivedMms: 1,
				latency: { [binOf(1000)]: 1 },
				errors: { 4470: 2 },
			},
		]);
	});
});

describe("the deliverability verdict", () => {
	const config = { rate: 0.9, minReceipts: 20, errorShare: 0.05 };
	const window = (delivered: number, failed: number, errors: Array<[number, number]> = []) => ({
		scope: "application" as const,
		id: APP,
		delivered,
		failed,
		errors: new Map(errors),
	});

	it("says nothing below the minimum of receipts, then judges the rate and the largest code's share", () => {
		expect(judge(window(5, 14), config)).toEqual({ state: "unknown" });
		expect(
			judge(
				window(17, 3, [
					[4470, 1],
					[4720, 1],
					[4775, 1],
				]),
				config,
			),
		).toEqual({ state: "degraded", reasons: ["delivery_rate"] });
		expect(
			judge(
				window(18, 2, [
					[4470, 1],
					[4720, 1],
				]),
				config,
			),
		).toEqual({ state: "healthy", reasons: [] });
		// 2 of 20 is 10 %: over the 5 % share, though the rate is still 0.9.
		expect(judge(window(18, 2, [[4470, 2]]), config)).toEqual({ state: "degraded", reasons: ["error_code"] });
	});

	it("sums an application's numbers and a number's applications", () => {
		const windows = windowsOf(
			[
				{ application_id: "a", owner: "+1", delivered: 3, failed: 1 },
				{ application_id: "a", owner: "+2", delivered: 4, failed: 0 },
				{ application_id: "b", owner: "+1", delivered: 1, failed: 1 },
			],
			[{ application_id: "a", owner: "+1", code: 4470, count: 1 }],
		);
		const of = (scope: string, id: string) => windows.find((w) => w.scope === scope && w.id === id);
		expect(of("application", "a")).toMatchObject({ delivered: 7, failed: 1 });
		expect(of("number", "+1")).toMatchObject({ delivered: 4, failed: 2 });
		expect(of("number", "+1")?.errors.get(4470)).toBe(1);
	});
});

describe("remediation", () => {
	it("says what to do for the common codes, by class for the others, nothing for a missing code", () => {
		expect(remediationOf(4773)).toMatch(/^Register the campaign/);
		expect(remediationOf(4775)).toMatch(/opted out/);
		expect(remediationOf(5106)).toMatch(/retry/);
		expect(remediationOf(4999)).toMatch(/same result/);
		expect(remediationOf(0)).toBeNull();
	});
});
