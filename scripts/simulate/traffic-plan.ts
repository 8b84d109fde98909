import {
	applicationId,
	type BandwidthElement,
	DLR_TIMEOUT,
	type EventType,
	element,
	FAILURES,
	type MessageShape,
	mediaUrl,
	messageIdAt,
	phoneNumber,
	timestamp,
} from "./bandwidth-payloads.ts";
import { mark, markFailures, OUTAGE_MESSAGES } from "./failure-plan.ts";
import { createRandom, type Random } from "./random.ts";

/*
 * The traffic, planned up front from the seed: per Bandwidth message id, the callbacks in the order
 * they will be sent (one at a time per message, messages in parallel) and what the relay should end
 * up knowing about it. Ids start with the real clock, as Bandwidth's do, so a second run with the
 * same seed sends the same shapes as new messages rather than a wall of duplicates.
 */

export interface PlannedCallback {
	/** The POST body: a JSON array of one element, byte for byte the same when resent. */
	body: string;
	element: BandwidthElement;
	/** An exact resend of an earlier callback of this message. */
	duplicate: boolean;
	/** Sent first without credentials, expecting the 401 challenge, as Bandwidth does. */
	challenge: boolean;
}

export interface RecipientExpectation {
	status: string;
	errorCode: number | null;
}

export interface MessagePlan {
	messageId: string;
	scenario: "inbound-sms" | "inbound-group" | "outbound-sms" | "outbound-group";
	callbacks: PlannedCallback[];
	/** Distinct events the relay should store for this message. */
	events: number;
	recipients: Map<string, RecipientExpectation>;
}

export interface PlanOptions {
	seed: number;
	/** Bandwidth message ids to produce. */
	count: number;
	/** Probability that a callback is sent a second time. */
	duplicates: number;
	/** Probability that a callback starts with the unauthenticated attempt (the first one always does). */
	challenge: number;
	now: number;
	/** Where inbound media URLs point (default Bandwidth's host; `npm run simulate` uses the local stand-in). */
	mediaBase?: string;
	/** Mark messages for the local sink to fail, and end with an outage burst (scripts/simulate/failure-plan.ts). */
	failures?: boolean;
}

/** DESIGN §4: a recipient's status only climbs; on a tie the event that arrived first stands. */
const STATUS_OF: Record<EventType, { status: string; rank: number }> = {
	"message-received": { status: "received", rank: 1 },
	"message-sending": { status: "sending", rank: 1 },
	"message-sent": { status: "sent", rank: 2 },
	"message-delivered": { status: "delivered", rank: 3 },
	"message-failed": { status: "failed", rank: 3 },
};

export function expectedRecipients(elements: readonly BandwidthElement[]): Map<string, RecipientExpectation> {
	const best = new Map<string, RecipientExpectation & { rank: number }>();
	for (const event of elements) {
		const { status, rank } = STATUS_OF[event.type];
		const current = best.get(event.to);
		if (current === undefined || rank > current.rank) {
			best.set(event.to, {
				status,
				rank,
				errorCode: event.type === "message-failed" ? (event.errorCode ?? null) : null,
			});
		}
	}
	return new Map([...best].map(([recipient, { status, errorCode }]) => [recipient, { status, errorCode }]));
}

const TEXTS = [
	"Running 10 min late, save me a seat",
	"Your appointment is confirmed for Tuesday at 3:30 PM. Reply C to cancel.",
	"ok 👍",
	"Can you send the photos from Saturday?",
	"Your verification code is 482913. It expires in 10 minutes. Do not share this code with anyone, including people who say they are from our support team.",
];
const SECOND = 1000;
const HOUR = 3600 * SECOND;

interface World {
	random: Random;
	now: number;
	mediaBase: string | undefined;
	applicationId: string;
	owned: string[];
}

function remote(world: World): string {
	return phoneNumber(world.random, world.random.pick(["415", "646", "312", "737"]));
}

function plan(scenario: MessagePlan["scenario"], shape: MessageShape, events: BandwidthElement[]): MessagePlan {
	const callbacks = events.map((event) => ({
		body: JSON.stringify([event]),
		element: event,
		duplicate: false,
		challenge: false,
	}));
	return { messageId: shape.id, scenario, callbacks, events: events.length, recipients: expectedRecipients(events) };
}

function inbound(world: World, group: boolean): MessagePlan[] {
	const { random } = world;
	const created = world.now - random.int(1, 120) * SECOND;
	const owned = group ? world.owned.slice(0, random.int(1, 2)) : [random.pick(world.owned)];
	const to = group ? [...owned, remote(world), ...(random.chance(0.5) ? [remote(world)] : [])] : owned;
	const from = remote(world);
	const text = random.pick(TEXTS);
	const withMedia = group || random.chance(0.2);
	// A group message to several numbers we own arrives once per owned number, each with its own id.
	return owned.map((owner) => {
		const id = messageIdAt(random, created);
		const media = withMedia
			? ["bw.png", "IMG_0412.png"].slice(0, random.int(1, 2)).map((file, i) => mediaUrl(id, i, file, world.mediaBase))
			: null;
		const time = timestamp(random, created);
		const shape: MessageShape = {
			id,
			owner,
			applicationId: world.applicationId,
			time,
			direction: "in",
			to,
			from,
			text,
			media,
			tag: null,
		};
		return plan(group ? "inbound-group" : "inbound-sms", shape, [
			element(random, shape, { type: "message-received", recipient: owner, time }),
		]);
	});
}

function outbound(world: World, group: boolean): MessagePlan {
	const { random } = world;
	const recipients = Array.from({ length: group ? random.int(2, 4) : 1 }, () => remote(world));
	const fates = recipients.map(() => (random.chance(0.2) ? random.pick(FAILURES).code : null));
	// A DLR timeout is reported two hours after sending; the message has to be that old.
	const created = world.now - (fates.includes(DLR_TIMEOUT) ? 2.5 * HOUR : random.int(10, 300) * SECOND);
	const shape: MessageShape = {
		id: messageIdAt(random, created),
		owner: random.pick(world.owned),
		applicationId: world.applicationId,
		time: timestamp(random, created),
		direction: "out",
		to: recipients,
		from: "",
		text: random.pick(TEXTS),
		media: group || random.chance(0.2) ? ["https://dev.bandwidth.com/images/bandwidth-logo.png"] : null,
		tag: random.chance(0.4) ? `campaign-${random.int(1, 9)}` : null,
	};
	shape.from = shape.owner;

	const timed: { at: number; event: BandwidthElement }[] = [];
	const add = (type: EventType, recipient: string, at: number, errorCode?: number) =>
		timed.push({ at, event: element(random, shape, { type, recipient, time: timestamp(random, at), errorCode }) });
	recipients.forEach((recipient, index) => {
		const fate = fates[index] ?? null;
		const sending = created + random.int(200, 900);
		add("message-sending", recipient, sending);
		if (random.chance(0.3)) add("message-sent", recipient, sending + random.int(1, 2) * SECOND);
		if (fate === null) add("message-delivered", recipient, sending + random.int(2, 9) * SECOND);
		else if (fate === DLR_TIMEOUT) {
			add("message-failed", recipient, created + 2 * HOUR, fate);
			// The receipt that did not come in time sometimes comes later; the failure stands.
			if (random.chance(0.5)) add("message-delivered", recipient, created + 2 * HOUR + random.int(1, 20) * 60 * SECOND);
		} else add("message-failed", recipient, sending + random.int(1, 5) * SECOND, fate);
	});
	const events = timed.sort((a, b) => a.at - b.at).map(({ event }) => event);
	if (random.chance(0.15)) reorder(events);
	return plan(group ? "outbound-group" : "outbound-sms", shape, events);
}

/** Bandwidth retries each callback on its own schedule: a receipt can overtake its own `message-sending`. */
function reorder(events: BandwidthElement[]): void {
	const terminal = events.findIndex((event) => event.type === "message-delivered" || event.type === "message-failed");
	const sending = events.findIndex((event) => event.type === "message-sending" && event.to === events[terminal]?.to);
	if (terminal < 0 || sending < 0) return;
	const [receipt] = events.splice(terminal, 1);
	if (receipt !== undefined) events.splice(sending, 0, receipt);
}

function addDuplicatesAndChallenges(random: Random, plans: MessagePlan[], options: PlanOptions): void {
	for (const message of plans) {
		for (const original of [...message.callbacks]) {
			if (!random.chance(options.duplicates)) continue;
			const after = message.callbacks.indexOf(original) + 1;
			message.callbacks.splice(random.int(after, message.callbacks.length), 0, { ...original, duplicate: true });
		}
		for (const callback of message.callbacks) callback.challenge = random.chance(options.challenge);
	}
	const first = plans[0]?.callbacks[0];
	if (first !== undefined && options.challenge > 0) first.challenge = true;
}

export function planTraffic(options: PlanOptions): MessagePlan[] {
	const random = createRandom(options.seed);
	const world: World = {
		random,
		now: options.now,
		mediaBase: options.mediaBase,
		applicationId: applicationId(random),
		owned: Array.from({ length: 3 }, () => phoneNumber(random, "919")),
	};
	const plans: MessagePlan[] = [];
	while (plans.length < options.count) {
		const roll = random.next();
		if (roll < 0.25) plans.push(...inbound(world, false));
		else if (roll < 0.4) plans.push(...inbound(world, true));
		else if (roll < 0.75) plans.push(outbound(world, false));
		else plans.push(outbound(world, true));
	}
	plans.length = options.count;
	if (options.failures === true) {
		markFailures(random, plans);
		for (let i = 0; i < OUTAGE_MESSAGES; i++) {
			const burst = outbound(world, false);
			mark(burst, "outage");
			plans.push(burst);
		}
	}
	addDuplicatesAndChallenges(random, plans, options);
	return plans;
}
