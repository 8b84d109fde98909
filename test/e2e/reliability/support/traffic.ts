import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../../../scripts/lib/dev-vars.ts";
import { referenceEventId } from "../../../../scripts/lib/reference-event-id.ts";
import { applicationId, messageIdAt, phoneNumber, timestamp } from "../../../../scripts/simulate/bandwidth-payloads.ts";
import { createRandom, type Random } from "../../../../scripts/simulate/random.ts";

/*
 * Realistic callback elements for the reliability suite: the published Bandwidth samples
 * (test/fixtures/bandwidth/) with fresh message ids, numbers and times, in the lifecycles they come
 * in — inbound SMS and group MMS, outbound sending → delivered | failed, group MMS with one status
 * per recipient under one message id.
 */

export type Element = Record<string, unknown> & {
	type: string;
	time: string;
	to: string;
	message: Record<string, unknown> & { id: string };
};

export interface PlannedEvent {
	/** The relay's id for it by DESIGN §4, so the sink's webhook-ids can be checked against the plan. */
	eventId: string;
	messageId: string;
	label: string;
	element: Element;
}

const FIXTURES = join(PROJECT_ROOT, "test/fixtures/bandwidth");

export const SAMPLES = {
	inboundSms: "spec2026__message-received_sms.array.json",
	inboundGroupMms: "spec2026__message-received_mms-group.array.json",
	sending: "spec2026__message-sending.array.json",
	sent: "spec2026__message-sent.array.json",
	deliveredSms: "spec2026__message-delivered_sms.array.json",
	deliveredMms: "spec2026__message-delivered_mms.array.json",
	deliveredGroupMms: "spec2026__message-delivered_group-mms.array.json",
	failed: "spec2026__message-failed_4432.array.json",
} as const;

const cache = new Map<string, Element>();

/** A deep copy of the sample's (first) element. */
export function sample(name: keyof typeof SAMPLES): Element {
	let element = cache.get(name);
	if (element === undefined) {
		const parsed: unknown = JSON.parse(readFileSync(join(FIXTURES, SAMPLES[name]), "utf8"));
		element = (Array.isArray(parsed) ? parsed[0] : parsed) as Element;
		cache.set(name, element);
	}
	return structuredClone(element);
}

interface Lifecycle {
	messageId: string;
	events: PlannedEvent[];
}

class Planner {
	#clock = Date.UTC(2026, 10, 2, 9, 0, 0);
	readonly random: Random;
	constructor(random: Random) {
		this.random = random;
	}

	/** Strictly increasing event times, in whichever precision Bandwidth happens to use. */
	time(): string {
		this.#clock += this.random.int(1, 900);
		return timestamp(this.random, this.#clock);
	}

	message(template: Element, fields: Record<string, unknown>): Element["message"] {
		return { ...template.message, id: messageIdAt(this.random, this.#clock), time: this.time(), ...fields };
	}

	event(label: string, template: Element, message: Element["message"], to: string, extra = {}): PlannedEvent {
		const element: Element = { ...template, ...extra, time: this.time(), to, message };
		return {
			eventId: referenceEventId(element.type, message.id, to, element.time),
			messageId: message.id,
			label: `${label} ${element.type} → ${to}`,
			element,
		};
	}
}

function inbound(plan: Planner, group: boolean): Lifecycle {
	const template = sample(group ? "inboundGroupMms" : "inboundSms");
	const owner = phoneNumber(plan.random, "919");
	const others = group ? [phoneNumber(plan.random, "415"), phoneNumber(plan.random, "212")] : [];
	const message = plan.message(template, {
		owner,
		applicationId: applicationId(plan.random),
		to: [owner, ...others],
		from: phoneNumber(plan.random, "646"),
	});
	if (group) message.media = [`https://messaging.bandwidth.com/api/v2/users/9900902/media/${message.id}/0/bw.png`];
	const label = group ? "inbound group MMS" : "inbound SMS";
	return { messageId: message.id, events: [plan.event(label, template, message, owner)] };
}

function outbound(plan: Planner, recipients: number, mms: boolean): Lifecycle {
	const from = phoneNumber(plan.random, "919");
	const to = Array.from({ length: recipients }, () => phoneNumber(plan.random, "415"));
	const app = applicationId(plan.random);
	const label = recipients > 1 ? "group MMS" : mms ? "MMS" : "SMS";
	const sending = sample(mms ? "sending" : "sent");
	const message = plan.message(sending, { owner: from, from, to, applicationId: app });
	if (!mms) delete message.media;
	const events: PlannedEvent[] = [];
	for (const recipient of to) events.push(plan.event(label, sending, message, recipient));
	for (const recipient of to) {
		if (plan.random.chance(0.2)) {
			const failed = sample("failed");
			events.push(plan.event(label, failed, { ...failed.message, ...message }, recipient, { errorCode: 4432 }));
		} else {
			const delivered = sample(recipients > 1 ? "deliveredGroupMms" : mms ? "deliveredMms" : "deliveredSms");
			events.push(plan.event(label, delivered, { ...delivered.message, ...message }, recipient));
		}
	}
	return { messageId: message.id, events };
}

/**
 * Exactly `count` events over as many messages as it takes; the last message may stop mid-lifecycle,
 * as a real one does while its statuses are still on the way.
 */
export function planTraffic(count: number, seed: number): PlannedEvent[] {
	const plan = new Planner(createRandom(seed));
	const events: PlannedEvent[] = [];
	while (events.length < count) {
		const roll = plan.random.int(0, 5);
		const lifecycle =
			roll === 0
				? inbound(plan, false)
				: roll === 1
					? inbound(plan, true)
					: roll === 2
						? outbound(plan, 1, false)
						: roll === 3
							? outbound(plan, 1, true)
							: outbound(plan, plan.random.int(2, 4), true);
		events.push(...lifecycle.events.slice(0, count - events.length));
	}
	return events;
}
