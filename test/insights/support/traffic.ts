import { postCallback } from "../../helpers/callback";

/*
 * Bandwidth traffic for the insights tests, with the expected counts worked out here, on its own:
 * nothing in this file calls the relay's insight code. A message's callbacks are posted one after
 * another (their order is what a ledger sees), messages side by side; duplicates are posted again
 * later or at the same moment, as Bandwidth's retries and concurrent deliveries do.
 */

export type Element = {
	type: string;
	time: string;
	to: string;
	description: string;
	errorCode?: number;
	message: Record<string, unknown>;
};

export interface Callback {
	element: Element;
	/** Post it again after the rest of its message. */
	repeat: boolean;
	/** Post it twice at the same moment. */
	concurrent: boolean;
}

export interface PlannedMessage {
	id: string;
	callbacks: Callback[];
}

const HOUR = 3_600_000;

/** A deterministic generator (a linear congruential one): the same seed, the same traffic. */
export function seeded(seed: number) {
	let state = seed >>> 0;
	const next = () => {
		state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
		return state / 2 ** 32;
	};
	return {
		next,
		chance: (p: number) => next() < p,
		int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
		pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
	};
}
type Random = ReturnType<typeof seeded>;

let sequence = 0;
export function messageIdAt(time: number): string {
	sequence += 1;
	return `${time}${`ins${sequence.toString(36)}${crypto.randomUUID().replaceAll("-", "")}`.slice(0, 16)}`;
}

export function iso(ms: number): string {
	return new Date(ms).toISOString();
}

export interface OutboundShape {
	id: string;
	applicationId: string;
	from: string;
	to: string[];
	time: number;
	media: boolean;
}

export function statusElement(
	shape: OutboundShape,
	type: "message-sending" | "message-sent" | "message-delivered" | "message-failed",
	recipient: string,
	at: number,
	errorCode?: number,
): Element {
	return {
		type,
		time: iso(at),
		to: recipient,
		description: type,
		...(errorCode === undefined ? {} : { errorCode }),
		message: {
			id: shape.id,
			// Bandwidth's own delivered samples put the recipient here; the sender is `from`.
			owner: type === "message-delivered" ? recipient : shape.from,
			applicationId: shape.applicationId,
			time: iso(shape.time),
			segmentCount: 1,
			direction: "out",
			to: shape.to,
			from: shape.from,
			text: "",
			media: shape.media ? ["https://example.com/a.png"] : [],
		},
	};
}

export function receivedElement(id: string, applicationId: string, owner: string, at: number, media: boolean): Element {
	return {
		type: "message-received",
		time: iso(at),
		to: owner,
		description: "Incoming message received",
		message: {
			id,
			owner,
			applicationId,
			time: iso(at),
			segmentCount: 1,
			direction: "in",
			to: [owner],
			from: "+14155559999",
			text: "hello",
			...(media ? { media: [`https://messaging.bandwidth.com/api/v2/users/1/media/${id}/0/a.png`] } : {}),
		},
	};
}

export const FAILURE_CODES = [4470, 4775, 4720, 9902] as const;

/**
 * A seeded mix: outbound SMS and group messages (sending, sometimes sent, then delivered or failed
 * per recipient; a 9902 timeout sometimes followed by a contradicting delivery), some posted out of
 * order (the receipt before its send), late receipts (messages sent 50 h before their receipt),
 * inbound SMS and MMS, and duplicates, repeated and concurrent.
 */
export function plannedMix(random: Random, world: { applicationId: string; numbers: string[]; now: number }) {
	const messages: PlannedMessage[] = [];
	const plan = (id: string, elements: Element[]) =>
		messages.push({
			id,
			callbacks: elements.map((element) => ({
				element,
				repeat: random.chance(0.15),
				concurrent: random.chance(0.1),
			})),
		});
	for (let i = 0; i < 60; i++) {
		const late = i < 5;
		const time = late ? world.now - 50 * HOUR - random.int(0, 600) * 1000 : world.now - random.int(60, 3 * 3600) * 1000;
		const recipients = Array.from(
			{ length: random.chance(0.3) ? random.int(2, 3) : 1 },
			(_, index) => `+1646555${String(1000 + i * 10 + index)}`,
		);
		const shape: OutboundShape = {
			id: messageIdAt(time),
			applicationId: world.applicationId,
			from: random.pick(world.numbers),
			to: recipients,
			time,
			media: recipients.length > 1,
		};
		const elements: Element[] = [];
		for (const recipient of recipients) {
			const sending = time + random.int(200, 900);
			const events: Element[] = [];
			if (random.chance(0.8)) events.push(statusElement(shape, "message-sending", recipient, sending));
			if (random.chance(0.3)) events.push(statusElement(shape, "message-sent", recipient, sending + 1500));
			const final = late ? world.now - random.int(1, 30) * 1000 : sending + random.int(2000, 60_000);
			if (random.chance(0.25)) {
				const code = random.pick(FAILURE_CODES);
				events.push(statusElement(shape, "message-failed", recipient, final, code));
				if (code === 9902 && random.chance(0.5))
					events.push(statusElement(shape, "message-delivered", recipient, final + 60_000));
			} else {
				events.push(statusElement(shape, "message-delivered", recipient, final));
			}
			// Out of order: the receipt overtakes its own send.
			if (random.chance(0.2)) events.reverse();
			elements.push(...events);
		}
		plan(shape.id, elements);
	}
	for (let i = 0; i < 20; i++) {
		const at = world.now - random.int(60, 3 * 3600) * 1000;
		const id = messageIdAt(at);
		plan(id, [receivedElement(id, world.applicationId, random.pick(world.numbers), at, random.chance(0.3))]);
	}
	return messages;
}

/** Posts every message's callbacks in order (repeats after, concurrent copies at once), six messages at a time. */
export async function postMessages(messages: readonly PlannedMessage[]): Promise<void> {
	const post = async (element: Element) => {
		const response = await postCallback([element]);
		if (response.status !== 200) throw new Error(`callback answered ${response.status}: ${await response.text()}`);
	};
	const queue = [...messages];
	await Promise.all(
		Array.from({ length: 6 }, async () => {
			for (let message = queue.shift(); message !== undefined; message = queue.shift()) {
				for (const callback of message.callbacks) {
					if (callback.concurrent) await Promise.all([post(callback.element), post(callback.element)]);
					else await post(callback.element);
				}
				for (const callback of message.callbacks.filter((c) => c.repeat)) await post(callback.element);
			}
		}),
	);
}

export interface Expected {
	sent: number;
	delivered: number;
	failed: number;
	receivedSms: number;
	receivedMms: number;
	errors: Map<number, number>;
	latencies: number[];
	/** By the UTC hour (ISO, "2026-12-01T09:00:00.000Z") of the messages' send time. */
	byHour: Map<string, { sent: number; delivered: number; failed: number; received: number }>;
	byNumber: Map<string, { sent: number; delivered: number; failed: number }>;
}

/**
 * What the relay should count, worked out from the callbacks as a ledger receives them: per
 * (message, recipient), distinct events in the order posted. Sent: any send event, or a delivery
 * that was the first final status. Delivered or failed: the first final status. Latency: from the
 * first send event posted before the delivery (else message.time) to the delivery.
 */
export function expectedOf(messages: readonly PlannedMessage[]): Expected {
	const expected: Expected = {
		sent: 0,
		delivered: 0,
		failed: 0,
		receivedSms: 0,
		receivedMms: 0,
		errors: new Map(),
		latencies: [],
		byHour: new Map(),
		byNumber: new Map(),
	};
	for (const message of messages) {
		// The order a ledger accepts them in: each callback, then the repeats (ignored: already seen).
		const seen = new Set<string>();
		const distinct = message.callbacks
			.map((c) => c.element)
			.filter((element) => {
				const key = `${element.type}\n${element.to}\n${element.time}`;
				if (seen.has(key)) return false;
				seen.add(key);
				return true;
			});
		const messageTime = Date.parse(String(distinct[0]?.message.time));
		const hourKey = iso(messageTime - (messageTime % HOUR));
		const hour = expected.byHour.get(hourKey) ?? { sent: 0, delivered: 0, failed: 0, received: 0 };
		expected.byHour.set(hourKey, hour);
		const first = distinct[0];
		if (first?.type === "message-received") {
			const mms = Array.isArray(first.message.media);
			if (mms) expected.receivedMms += 1;
			else expected.receivedSms += 1;
			hour.received += 1;
			continue;
		}
		const number = String(first?.message.from);
		const perNumber = expected.byNumber.get(number) ?? { sent: 0, delivered: 0, failed: 0 };
		expected.byNumber.set(number, perNumber);
		for (const recipient of new Set(distinct.map((element) => element.to))) {
			const events = distinct.filter((element) => element.to === recipient);
			const finalIndex = events.findIndex((e) => e.type === "message-delivered" || e.type === "message-failed");
			const final = events[finalIndex];
			const sends = events.filter((e) => e.type === "message-sending" || e.type === "message-sent");
			const sent = sends.length > 0 || final?.type === "message-delivered";
			if (sent) {
				expected.sent += 1;
				hour.sent += 1;
				perNumber.sent += 1;
			}
			if (final?.type === "message-delivered") {
				expected.delivered += 1;
				hour.delivered += 1;
				perNumber.delivered += 1;
				const sendBefore = events
					.slice(0, finalIndex)
					.find((e) => e.type === "message-sending" || e.type === "message-sent");
				const from = sendBefore === undefined ? messageTime : Date.parse(sendBefore.time);
				expected.latencies.push(Math.max(0, Date.parse(final.time) - from));
			} else if (final?.type === "message-failed") {
				expected.failed += 1;
				hour.failed += 1;
				perNumber.failed += 1;
				expected.errors.set(final.errorCode ?? 0, (expected.errors.get(final.errorCode ?? 0) ?? 0) + 1);
			}
		}
	}
	return expected;
}

/** The exact nearest-rank percentile. */
export function nearestRank(values: readonly number[], quantile: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.max(0, Math.ceil(quantile * sorted.length) - 1)] ?? 0;
}
