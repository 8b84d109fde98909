import { describe, expect, it } from "vitest";
import type { BandwidthElement } from "../../scripts/simulate/bandwidth-payloads.ts";
import { OUTAGE_MESSAGES } from "../../scripts/simulate/failure-plan.ts";
import { expectedRecipients, type MessagePlan, planTraffic } from "../../scripts/simulate/traffic-plan.ts";

// The simulator's plan, without a relay: what it sends must look like Bandwidth and its
// expectations must follow DESIGN §4, or the end-to-end check proves nothing.
const NOW = Date.parse("2026-11-26T12:00:00.000Z");
const options = { seed: 42, count: 300, duplicates: 0.2, challenge: 0.25, now: NOW };

function status(type: BandwidthElement["type"], to: string, errorCode?: number): BandwidthElement {
	return { time: "2026-11-26T12:00:00Z", type, to, description: "", message: {}, ...(errorCode ? { errorCode } : {}) };
}

describe("the simulator's traffic plan", () => {
	const plans = planTraffic(options);
	const byScenario = (scenario: MessagePlan["scenario"]) => plans.filter((plan) => plan.scenario === scenario);

	it("is the same for the same seed and clock, and new message ids on a later run", () => {
		expect(planTraffic(options).map((plan) => plan.callbacks.map((c) => c.body))).toEqual(
			plans.map((plan) => plan.callbacks.map((c) => c.body)),
		);
		const later = planTraffic({ ...options, now: NOW + 60_000 });
		expect(later.map((plan) => plan.scenario)).toEqual(plans.map((plan) => plan.scenario));
		expect(later.some((plan, i) => plan.messageId === plans[i]?.messageId)).toBe(false);
	});

	it("uses Bandwidth-shaped ids whose prefix is the message's creation time", () => {
		for (const plan of plans) {
			expect(plan.messageId).toMatch(/^\d{13}[a-z0-9]{16}$/);
			const message = plan.callbacks[0]?.element.message as { time: string; id: string };
			expect(message.id).toBe(plan.messageId);
			expect(Math.abs(Number(plan.messageId.slice(0, 13)) - Date.parse(message.time))).toBeLessThan(1000);
		}
	});

	it("gives each owned number of an inbound group its own message id", () => {
		const groups = byScenario("inbound-group");
		const siblings = groups.filter((plan, i) => {
			const next = groups[i + 1]?.callbacks[0]?.element;
			const element = plan.callbacks[0]?.element;
			return (
				next !== undefined &&
				element !== undefined &&
				next.message.text === element.message.text &&
				next.time === element.time
			);
		});
		expect(siblings.length).toBeGreaterThan(0);
		for (const plan of groups) {
			const element = plan.callbacks[0]!.element;
			expect(element.to).toBe(element.message.owner);
			expect((element.message.to as string[]).length).toBeGreaterThan(1);
		}
		expect(new Set(plans.map((plan) => plan.messageId)).size).toBe(plans.length);
	});

	it("sends outbound group receipts per recipient under one message id", () => {
		for (const plan of byScenario("outbound-group")) {
			const recipients = plan.callbacks[0]?.element.message.to as string[];
			expect(new Set(plan.callbacks.map((c) => c.element.to))).toEqual(new Set(recipients));
			expect(new Set(plan.callbacks.map((c) => c.element.message.id))).toEqual(new Set([plan.messageId]));
			expect([...plan.recipients.keys()].sort()).toEqual([...recipients].sort());
		}
	});

	it("resends duplicates byte for byte, after the original, and challenges the first callback", () => {
		const duplicates = plans.flatMap((plan) =>
			plan.callbacks.flatMap((callback, index) => (callback.duplicate ? [{ plan, callback, index }] : [])),
		);
		expect(duplicates.length).toBeGreaterThan(0);
		for (const { plan, callback, index } of duplicates) {
			expect(plan.callbacks.slice(0, index).some((c) => !c.duplicate && c.body === callback.body)).toBe(true);
		}
		for (const plan of plans) expect(plan.events).toBe(plan.callbacks.filter((c) => !c.duplicate).length);
		expect(plans[0]?.callbacks[0]?.challenge).toBe(true);
	});

	it("covers reordered receipts and real failure codes", () => {
		const callbacks = plans.flatMap((plan) => plan.callbacks.map((c) => c.element));
		const codes = new Set(callbacks.flatMap((element) => (element.errorCode ? [element.errorCode] : [])));
		expect([...codes].sort()).toEqual([4405, 4432, 4470, 4775, 5620, 9902]);
		const overtaken = plans.some((plan) => {
			const types = plan.callbacks.map((c) => `${c.element.to} ${c.element.type}`);
			return types.some(
				(entry, i) => entry.endsWith("delivered") && types.indexOf(entry.replace("delivered", "sending")) > i,
			);
		});
		expect(overtaken).toBe(true);
	});
});

describe("expected recipient status", () => {
	it("climbs to the highest rung, whatever the order", () => {
		const expected = expectedRecipients([status("message-delivered", "+1"), status("message-sending", "+1")]);
		expect(expected.get("+1")).toEqual({ status: "delivered", errorCode: null });
	});

	it("keeps the first terminal answer: a late delivery after a DLR timeout stays failed", () => {
		const expected = expectedRecipients([
			status("message-sending", "+1"),
			status("message-failed", "+1", 9902),
			status("message-delivered", "+1"),
		]);
		expect(expected.get("+1")).toEqual({ status: "failed", errorCode: 9902 });
	});

	it("tracks each recipient apart", () => {
		const expected = expectedRecipients([status("message-sent", "+1"), status("message-failed", "+2", 4432)]);
		expect(expected).toEqual(
			new Map([
				["+1", { status: "sent", errorCode: null }],
				["+2", { status: "failed", errorCode: 4432 }],
			]),
		);
	});

	it("with failures, marks outbound messages for the sink (503, 410, timeout) and ends with an outage burst", () => {
		const failing = planTraffic({ ...options, count: 30, failures: true });
		const tagOf = (plan: MessagePlan) => (plan.callbacks[0]?.element.message.tag as string | undefined) ?? null;
		const tags = failing.map(tagOf);
		const burst = tags.slice(30);
		expect(burst).toHaveLength(OUTAGE_MESSAGES);
		expect(new Set(burst)).toEqual(new Set(["relay-sim:outage"]));
		expect(failing.slice(30).every((plan) => plan.scenario === "outbound-sms")).toBe(true);
		const marked = new Set(tags.slice(0, 30).filter((tag) => tag?.startsWith("relay-sim:")));
		expect(marked).toEqual(new Set(["relay-sim:503", "relay-sim:410", "relay-sim:timeout"]));
		// Only outbound messages carry a tag (Bandwidth forwards an outbound message's tag), in every callback's body.
		for (const plan of failing) {
			const tag = tagOf(plan);
			if (tag?.startsWith("relay-sim:")) expect(plan.scenario.startsWith("outbound")).toBe(true);
			for (const callback of plan.callbacks) expect(JSON.parse(callback.body)[0].message.tag ?? null).toBe(tag);
		}
	});
});
