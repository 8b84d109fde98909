import { sample } from "../../helpers/fixtures";
import type { SinkMode } from "../support/sim-sink-types";
import type { FaultRule } from "./fault-plan";
import type { Rng } from "./rng";

/*
 * One seed's traffic and operations, drawn before the run: Bandwidth's documented events in
 * realistic stories (an outbound message and its receipts, inbound SMS and MMS, group messages),
 * mostly one event a callback, some batches; concurrent and late duplicates; receipts out of order
 * and up to 73 h late; unknown types and invalid elements; and the operator's and the world's
 * actions: outages and slow endpoints, a 410, pauses, replays (concurrent ones too), erasures of
 * messages and numbers while their events are in flight, D1 refusing writes, objects reset.
 */

import { APP_A, APP_B } from "./app-ids";

export { APP_A, APP_B };
export const DESTINATION_NAMES = ["all", "inbound", "app-a"] as const;
export type DestinationName = (typeof DESTINATION_NAMES)[number];

export type Element = Record<string, unknown> & {
	type: string;
	message: Record<string, unknown> & { id: string };
	_sim: string;
};

export interface SimElement {
	tag: string;
	element: Element;
	messageId: string;
	/** An element the relay must quarantine rather than store. */
	invalid: boolean;
	/** Every number the element names (from, owner, recipients, envelope to). */
	numbers: string[];
}

export interface Callback {
	id: number;
	elements: SimElement[];
}

export type Step =
	| { at: number; kind: "post"; callback: number; copies: number }
	| { at: number; kind: "sink"; path: string; mode: SinkMode | null }
	| { at: number; kind: "sinkEvent"; path: string; tag: string; status: number | null }
	| { at: number; kind: "pause" | "resume"; destination: DestinationName }
	| { at: number; kind: "replay"; body: Record<string, unknown>; concurrent: number }
	| { at: number; kind: "replayMessage"; tag: string }
	| { at: number; kind: "eraseMessage"; tag: string; duringCron: boolean }
	| { at: number; kind: "eraseNumber"; number: string; duringCron: boolean }
	| { at: number; kind: "reprocess" }
	| { at: number; kind: "fault"; rule: FaultRule }
	| { at: number; kind: "evict"; namespace: "MESSAGE_LEDGER" | "DESTINATION_GATE" | "MEDIA_COPIER"; tag: string }
	| { at: number; kind: "cron" };

export interface Workload {
	start: number;
	callbacks: Callback[];
	/** Ordered by `at` (virtual ms from start). */
	steps: Step[];
	/** Faults active from the start until the run heals. */
	rules: FaultRule[];
	/** Every element, by tag. */
	elements: Map<string, SimElement>;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The workload's main window: most traffic and faults land in it. */
const WINDOW_MS = 2 * HOUR;

type Template = Record<string, unknown> & { message: Record<string, unknown> };
const template = (name: string): Template => {
	const value = sample(name);
	return (Array.isArray(value) ? value[0] : value) as Template;
};

interface Story {
	messageId: string;
	applicationId: string;
	owner: string;
	from: string;
	to: string[];
	direction: "in" | "out";
	created: number;
	events: Array<{ at: number; element: Element }>;
}

function iso(ms: number): string {
	return new Date(ms).toISOString();
}

export function drawWorkload(rng: Rng, options: { start: number; mediaBase: string; messages?: number }): Workload {
	const { start, mediaBase } = options;
	const numbers = Array.from(
		{ length: 12 },
		(_, index) => `+1555${String(2000000 + index * 7919 + rng.int(0, 999)).padStart(7, "0")}`,
	);
	const ours = numbers.slice(0, 3); // the customer's Bandwidth numbers
	const theirs = numbers.slice(3);
	let tagCounter = 0;
	const elements = new Map<string, SimElement>();

	const newElement = (base: Template, fields: { type?: string; time: number; to: string }, story: Story): Element => {
		tagCounter += 1;
		const tag = `s${rng.seed}-e${tagCounter}`;
		const message = {
			...base.message,
			id: story.messageId,
			applicationId: story.applicationId,
			owner: story.owner,
			from: story.from,
			to: [...story.to],
			direction: story.direction,
			time: iso(story.created),
		};
		const element = {
			...base,
			type: fields.type ?? base.type,
			time: iso(fields.time),
			to: fields.to,
			message,
			_sim: tag,
		} as Element;
		elements.set(tag, {
			tag,
			element,
			messageId: story.messageId,
			invalid: false,
			numbers: [...new Set([story.from, story.owner, fields.to, ...story.to])],
		});
		return element;
	};

	const messageId = (created: number) => `${created}${rng.hex(16)}`;
	const stories: Story[] = [];
	const count = options.messages ?? rng.int(14, 24);
	for (let index = 0; index < count; index += 1) {
		const created = start + rng.int(0, WINDOW_MS);
		const kind = rng.weighted([
			["sms-out", 5],
			["mms-group-out", 2],
			["sms-in", 3],
			["mms-in", 2],
			["mms-group-in", 2],
			["unknown", 1],
		] as const);
		const app = rng.chance(0.6) ? APP_A : APP_B;
		const owner = rng.pick(ours);
		const story: Story = {
			messageId: messageId(created),
			applicationId: app,
			owner,
			from: owner,
			to: [rng.pick(theirs)],
			direction: "out",
			created,
			events: [],
		};
		stories.push(story);
		const after = (ms: number) => created + ms;
		if (kind === "sms-out" || kind === "mms-group-out" || kind === "unknown") {
			if (kind === "mms-group-out") story.to = rng.shuffle(theirs).slice(0, 2);
			const sending = template("spec2026__message-sending.object.json");
			const sent = template("spec2026__message-sent.object.json");
			const delivered = template("spec2026__message-delivered_sms.object.json");
			const failed = template("spec2026__message-failed_4432.object.json");
			for (const recipient of story.to) {
				if (kind !== "sms-out" || rng.chance(0.5)) {
					story.events.push({
						at: after(rng.int(200, 2000)),
						element: newElement(sending, { time: after(500), to: recipient }, story),
					});
				}
				story.events.push({
					at: after(rng.int(1000, 5000)),
					element: newElement(sent, { time: after(1500), to: recipient }, story),
				});
				const late = rng.chance(0.12) ? rng.int(HOUR, 73 * HOUR) : rng.int(3000, 60_000);
				// Out of order: a receipt can arrive before the sending event.
				const receiptAt = rng.chance(0.1) ? after(rng.int(100, 400)) : after(late);
				const final = rng.chance(0.8) ? delivered : failed;
				const element = newElement(final, { time: after(late), to: recipient }, story);
				if (final === failed) element.errorCode = rng.pick([4432, 4720, 4470, 5600, 9902]);
				story.events.push({ at: receiptAt, element });
				if (kind === "unknown") {
					story.events.push({
						at: after(rng.int(2000, 9000)),
						element: newElement(delivered, { type: "message-reacted", time: after(9000), to: recipient }, story),
					});
				}
			}
		} else {
			story.direction = "in";
			story.from = rng.pick(theirs);
			story.to = [owner];
			let base = template("spec2026__message-received_sms.object.json");
			if (kind === "mms-in" || kind === "mms-group-in") {
				base = template("spec2026__message-received_mms-group.object.json");
				if (kind === "mms-group-in")
					story.to = [owner, ...rng.shuffle(theirs.filter((n) => n !== story.from)).slice(0, 2)];
				const files = rng.int(1, 2);
				base = {
					...base,
					message: {
						...base.message,
						media: Array.from(
							{ length: files },
							(_, file) => `${mediaBase}/api/v2/users/9900000/media/${story.messageId}/${file}/pic${file}.png`,
						),
					},
				};
			}
			story.events.push({
				at: after(rng.int(0, 1500)),
				element: newElement(base, { time: after(200), to: owner }, story),
			});
		}
	}

	// A few invalid elements: quarantined, never forwarded.
	for (let index = 0; index < rng.int(1, 3); index += 1) {
		const story = rng.pick(stories);
		const base = template("spec2026__message-delivered_sms.object.json");
		const element = newElement(base, { time: story.created + 3000, to: story.to[0] ?? "" }, story);
		const sim = elements.get(element._sim) as SimElement;
		sim.invalid = true;
		if (rng.chance(0.5)) element.time = "not a time";
		else element.message = { ...element.message, direction: 7 } as Element["message"];
		story.events.push({ at: story.created + rng.int(3000, 9000), element });
	}

	// Callbacks: mostly one event each; some events that land close together share one.
	const timeline = stories.flatMap((story) => story.events).sort((a, b) => a.at - b.at);
	const callbacks: Callback[] = [];
	const steps: Step[] = [];
	for (let index = 0; index < timeline.length; ) {
		const first = timeline[index] as (typeof timeline)[number];
		let size = 1;
		if (rng.chance(0.15)) {
			while (
				size < 5 &&
				index + size < timeline.length &&
				(timeline[index + size] as (typeof timeline)[number]).at - first.at < MINUTE
			)
				size += 1;
		}
		const group = timeline.slice(index, index + size);
		index += size;
		const callback: Callback = {
			id: callbacks.length,
			elements: group.map((item) => elements.get(item.element._sim) as SimElement),
		};
		callbacks.push(callback);
		const copies = rng.chance(0.15) ? rng.int(2, 3) : 1;
		steps.push({ at: first.at - start, kind: "post", callback: callback.id, copies });
		if (rng.chance(0.1))
			steps.push({ at: first.at - start + rng.int(MINUTE, 6 * HOUR), kind: "post", callback: callback.id, copies: 1 });
	}

	// The world and the operator.
	const at = () => rng.int(0, WINDOW_MS);
	const tags = [...elements.values()].filter((element) => !element.invalid).map((element) => element.tag);
	if (rng.chance(0.6)) {
		const from = at();
		steps.push({ at: from, kind: "sink", path: "/d/all", mode: { status: rng.pick([500, 503, 429]) } });
		steps.push({ at: from + rng.int(5 * MINUTE, 50 * MINUTE), kind: "sink", path: "/d/all", mode: null });
	}
	if (rng.chance(0.3)) {
		const from = at();
		steps.push({ at: from, kind: "sink", path: "/d/app-a", mode: { status: 204, delayMs: 1500 } });
		steps.push({ at: from + rng.int(MINUTE, 20 * MINUTE), kind: "sink", path: "/d/app-a", mode: null });
	}
	if (rng.chance(0.3)) steps.push({ at: 0, kind: "sinkEvent", path: "/d/all", tag: rng.pick(tags), status: 410 });
	if (rng.chance(0.5)) {
		const from = at();
		steps.push({ at: from, kind: "pause", destination: "inbound" });
		steps.push({ at: from + rng.int(MINUTE, 40 * MINUTE), kind: "resume", destination: "inbound" });
	}
	for (let index = 0; index < rng.int(0, 2); index += 1) {
		steps.push({ at: at() + 30 * MINUTE, kind: "replay", body: { dead: true }, concurrent: rng.chance(0.3) ? 2 : 1 });
	}
	if (rng.chance(0.3)) steps.push({ at: at(), kind: "replayMessage", tag: rng.pick(tags) });
	// Erasures, most while the message's copies are in flight: right after its post (gap 0: no
	// settling between), or while the cron writes archive hours.
	for (let index = 0; index < rng.int(0, 3); index += 1) {
		const tag = rng.pick(tags);
		const element = elements.get(tag) as SimElement;
		const posted = steps.find((step) => step.kind === "post" && callbacks[step.callback]?.elements.includes(element));
		const when = rng.weighted([
			["with its post", 3],
			["soon after", 1],
			["during the cron", 2],
		] as const);
		const base = posted?.at ?? at();
		steps.push({
			at:
				when === "with its post"
					? base
					: when === "soon after"
						? base + rng.int(1, 3000)
						: base + rng.int(HOUR, 2 * HOUR),
			kind: "eraseMessage",
			tag,
			duringCron: when === "during the cron",
		});
	}
	if (rng.chance(0.7)) {
		// A number named only in message.to (the other members of a group message) is the hardest to find.
		const toOnly = new Set<string>();
		for (const story of stories) {
			const named = new Set(
				story.events.flatMap(({ element }) => [element.message.from, element.message.owner, element.to].map(String)),
			);
			for (const number of story.to) if (!named.has(number)) toOnly.add(number);
		}
		const number = toOnly.size > 0 && rng.chance(0.7) ? rng.pick([...toOnly].sort()) : rng.pick(theirs);
		steps.push({ at: at(), kind: "eraseNumber", number, duringCron: rng.chance(0.4) });
	}
	if (rng.chance(0.3)) steps.push({ at: at() + 10 * MINUTE, kind: "reprocess" });
	if (rng.chance(0.5)) {
		const from = at();
		steps.push({
			at: from,
			kind: "fault",
			rule: { target: "d1.*", kind: "throw", from: 0, until: rng.int(2, 20) * MINUTE },
		});
	}
	for (let index = 0; index < rng.int(0, 3); index += 1) {
		steps.push({
			at: at(),
			kind: "evict",
			namespace: rng.weighted([
				["MESSAGE_LEDGER", 3],
				["DESTINATION_GATE", 1],
				["MEDIA_COPIER", 1],
			] as const),
			tag: rng.pick(tags),
		});
	}

	const rules: FaultRule[] = [];
	const maybe = (probability: number, rule: FaultRule) => {
		if (rng.chance(probability)) rules.push(rule);
	};
	maybe(0.5, { target: "d1.batch", kind: "throw", probability: rng.pick([0.05, 0.15, 0.3]) });
	maybe(0.3, { target: "d1.batch", kind: "throwAfter", probability: 0.1 });
	maybe(0.3, { target: "d1.run", kind: "throw", probability: 0.1 });
	maybe(0.4, { target: "queue.sendBatch", kind: "throw", probability: 0.1 });
	maybe(0.3, { target: "queue.sendBatch", kind: "throwAfter", probability: 0.05 });
	maybe(0.3, { target: "queue.send", kind: "throw", probability: 0.1 });
	maybe(0.4, { target: "do.settle", kind: "throw", probability: 0.1 });
	maybe(0.3, { target: "do.accept", kind: "throw", probability: 0.05 });
	maybe(0.2, { target: "do.accept", kind: "throwAfter", probability: 0.05 });
	maybe(0.3, { target: "do.maintain", kind: "throw", probability: 0.1 });
	// Half a second, under every bound the relay puts on a Durable Object call (the gate's 3 s is the
	// least) as the 1.5 s it was; the shorter hang took seed 1 from 31 s to 17 s.
	maybe(0.3, { target: "do.*", kind: "hang", probability: 0.02, ms: 500 });
	maybe(0.6, { target: "r2.archive.put", kind: "throw", probability: rng.pick([0.1, 0.3, 0.6]) });
	maybe(0.3, { target: "r2.archive.*", kind: "throw", probability: 0.05 });
	maybe(0.3, { target: "r2.media.put", kind: "throw", probability: 0.2 });
	maybe(0.4, { target: "fetch.destination", kind: "network", probability: 0.05 });
	maybe(0.2, { target: "fetch.destination", kind: "throwAfter", probability: 0.05 });
	maybe(0.2, { target: "fetch.destination", kind: "hang", probability: 0.03, ms: 2500 });
	maybe(0.3, { target: "fetch.media", kind: "status", status: 500, probability: 0.2 });
	maybe(0.2, { target: "fetch.token", kind: "status", status: 503, probability: 0.2 });
	maybe(0.3, { target: "ae.writeDataPoint", kind: "throw", probability: 0.1 });
	maybe(0.2, { target: "fetch.alert", kind: "network", probability: 0.3 });

	steps.sort((a, b) => a.at - b.at);
	return { start, callbacks, steps, rules, elements };
}
