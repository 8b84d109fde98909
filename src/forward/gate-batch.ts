import { renewClaims } from "../db/deliveries.repository";
import { utf8Bytes } from "../db/row-size";
import { admit, holdDelaySeconds } from "../destinations/gate-client";
import { LEASE_MARGIN_MS } from "../destinations/gate-policy";
import type { HoldReason } from "../destinations/gate-rpc";
import type { Destinations } from "../destinations/read-destinations";
import { BATCH_MAX_BYTES, BATCH_MAX_MESSAGES, MESSAGE_OVERHEAD_BYTES } from "../ledger/queue-chunks";
import { errorMessage, log } from "../log";
import type { ForwardJob } from "./forward-job";

/** A batch's message with its parsed job and the delivery attempt it would be (held waits not counted). */
export interface Parsed {
	message: Message<unknown>;
	job: ForwardJob;
	attempt: number;
}

interface Admitted extends Parsed {
	/** When its rate-limit slot comes (epoch ms; 0: now): it does not start before. */
	startAt: number;
}

/** A job its gate holds back, why, and for how long it waits in the queue if it goes back there. */
export interface Held extends Parsed {
	delaySeconds: number;
	reason: HoldReason;
}

/** Per destination: the gate's lease on the batch's admitted attempts, to report them with. */
export type Leases = Map<string, string | null>;

/** Per isolate, per rate-limited destination: when its next POST may start here. */
const nextStartHere = new Map<string, number>();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits for an admitted attempt's turn: its gate slot, and then at least 1/maxPerSecond after
 * this isolate's previous start for the same destination, taken when it wakes. A consumer its
 * runtime holds up past several slots wakes its overdue attempts together; they then go one
 * interval apart instead of at once. Concurrent invocations in one isolate share the spacing.
 */
export async function waitForTurn(destination: string, maxPerSecond: number | null, startAt: number): Promise<void> {
	if (startAt > Date.now()) await sleep(startAt - Date.now());
	if (maxPerSecond === null) return;
	for (;;) {
		const now = Date.now();
		const next = nextStartHere.get(destination) ?? 0;
		if (now >= next) {
			nextStartHere.set(destination, now + 1000 / maxPerSecond);
			return;
		}
		await sleep(next - now);
	}
}

/**
 * Asks each destination's gate which of its jobs go now. Jobs without a configured destination
 * (queued before routing, matched none, or for a destination since removed) are not gated.
 */
export async function admitBatch(
	env: Pick<Env, "DESTINATION_GATE">,
	destinations: Destinations | null,
	parsed: readonly Parsed[],
	attemptsInFlight: number,
	/** The most an attempt may also wait for media before its POST (src/media/with-media-copies.ts). */
	mediaWaitMs: number,
): Promise<{ admitted: Admitted[]; held: Held[]; leases: Leases }> {
	const admitted: Admitted[] = [];
	const held: Held[] = [];
	const leases: Leases = new Map();
	const groups = new Map<string, Parsed[]>();
	for (const item of parsed) {
		const name = item.job.destination;
		if (destinations === null || typeof name !== "string" || !destinations.byName.has(name)) {
			admitted.push({ ...item, startAt: 0 });
			continue;
		}
		groups.set(name, [...(groups.get(name) ?? []), item]);
	}
	// The batch's attempts share its connections: one destination's may wait behind another's, so a
	// lease lasts as long as the whole batch could: ceil(n / 6) rounds of the longest timeout, each
	// after the longest wait for media.
	const longest = Math.max(0, ...(destinations?.list ?? []).map((destination) => destination.timeoutMs));
	const leaseMs = Math.ceil(parsed.length / attemptsInFlight) * (longest + mediaWaitMs) + LEASE_MARGIN_MS;
	await Promise.all(
		[...groups].map(async ([name, items]) => {
			const destination = destinations?.byName.get(name);
			if (destination === undefined) return;
			const returning = items.some((item) => item.job.priorAttempts !== undefined);
			const admission = await admit(
				env,
				destination,
				items.map((item) => item.job.eventId),
				leaseMs,
				returning,
			);
			leases.set(name, admission.lease);
			items.forEach((item, index) => {
				const startAt = admission.startsAt[index];
				if (startAt !== undefined) admitted.push({ ...item, startAt });
				else {
					const delaySeconds = holdDelaySeconds(admission, item.job.holds ?? 0);
					held.push({ ...item, delaySeconds, reason: admission.reason ?? "rate" });
				}
			});
			const holding = items.length - admission.startsAt.length;
			if (holding > 0) log.info("forward_held", { destination: name, reason: admission.reason, jobs: holding });
		}),
	);
	return { admitted, held, leases };
}

/**
 * Puts held jobs back on the queue with their delay and their attempt count as it was: a wait is
 * not an attempt. Sent before the originals are acked, so a failure loses nothing; a job that
 * cannot be sent is retried instead, which does count an attempt (logged). A pause's or a
 * breaker's jobs go here only when their gate could not park them (src/forward/park-held.ts).
 */
export async function requeueHeld(env: Pick<Env, "DB" | "FORWARD_QUEUE">, held: readonly Held[]): Promise<void> {
	const queue = env.FORWARD_QUEUE;
	await renewHeldClaims(env.DB, held);
	let group: Array<Held & { body: ForwardJob }> = [];
	let bytes = 0;
	const flush = async () => {
		if (group.length === 0) return;
		const sending = group;
		group = [];
		bytes = 0;
		try {
			await queue.sendBatch(
				sending.map((item) => ({ body: item.body, contentType: "json", delaySeconds: item.delaySeconds })),
			);
			for (const item of sending) item.message.ack();
		} catch (error) {
			log.error("forward_hold_requeue_failed", { jobs: sending.length, error: errorMessage(error) });
			for (const item of sending) item.message.retry({ delaySeconds: item.delaySeconds });
		}
	};
	for (const item of held) {
		const body: ForwardJob = {
			...item.job,
			priorAttempts: item.attempt - 1,
			...(item.reason === "paused" ? { holds: (item.job.holds ?? 0) + 1 } : {}),
		};
		const size = utf8Bytes(JSON.stringify(body)) + MESSAGE_OVERHEAD_BYTES;
		if (group.length === BATCH_MAX_MESSAGES || bytes + size > BATCH_MAX_BYTES) await flush();
		group.push({ ...item, body });
		bytes += size;
	}
	await flush();
}

/**
 * Best effort, and only for replays: a failed renewal is logged, and the hold goes on (delivery
 * never needs D1); at worst the claim expires and a later dead replay could send the event again.
 */
export async function renewHeldClaims(db: D1Database, held: readonly Held[], holdMs?: number): Promise<void> {
	const claimed = held.filter((item) => item.job.claimId !== undefined);
	if (claimed.length === 0) return;
	const until = new Date(Date.now() + (holdMs ?? Math.max(...claimed.map((item) => item.delaySeconds)) * 1000));
	try {
		await renewClaims(
			db,
			claimed.map((item) => item.job.claimId as number),
			until,
		).run();
	} catch (error) {
		log.error("replay_claims_not_renewed", { claims: claimed.length, error: errorMessage(error) });
	}
}

/**
 * Sends one message's new jobs (a job from before routing, split per destination) in one
 * sendBatch, which jobsFor sized to fit: sent all or none, so a retry never repeats part of them.
 */
export async function requeueJobs(queue: Queue, jobs: readonly ForwardJob[]): Promise<boolean> {
	try {
		await queue.sendBatch(jobs.map((body) => ({ body, contentType: "json" })));
		return true;
	} catch (error) {
		log.error("forward_reroute_failed", { jobs: jobs.length, error: errorMessage(error) });
		return false;
	}
}
