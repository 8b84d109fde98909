import * as v from "valibot";
import { DEFAULT_RETRY_SCHEDULE } from "../config";
import { readDestinations } from "../destinations/read-destinations";
import { errorMessage, log } from "../log";
import { mediaWaitMs, withMediaCopies } from "../media/with-media-copies";
import { recordConsumerBatch } from "../metrics/record-metrics";
import { alertDead, reportToGates } from "./after-batch";
import { readErasures } from "./erased-messages";
import { ForwardJobSchema } from "./forward-job";
import { admitBatch, type Parsed, requeueJobs, waitForTurn } from "./gate-batch";
import { Limit } from "./limit";
import { eventLoader } from "./load-event";
import { holdBack } from "./park-held";
import { addOutcome, deliveryRow, type Outcomes, recordOutcomes } from "./record-outcomes";
import {
	destinationOf,
	type Forwarding,
	malformed,
	retryOrDead,
	type Settlement,
	settleMessage,
} from "./settle-message";

/**
 * Workers let 6 connections per invocation wait for headers; a 7th fetch() waits for a free one
 * with its timeout already running. A batch started all at once had its later requests to an
 * endpoint answering in 3–4 s aborted in flight (a second delivery of an event it had processed)
 * or before they were sent. So an invocation runs at most 6 attempts at a time, each from its load
 * to the end of its POST, and each POST's timeout starts with the POST.
 */
export const ATTEMPTS_IN_FLIGHT = 6;

/**
 * UTF-8 bytes of event bodies the attempts in flight may hold, each counted from before its load to
 * the end of its POST. A body costs about four times that in memory (the string at up to 2 bytes a
 * character, the signed bytes, the runtime's copy of the request): 8 MiB is then ~32 MiB, a quarter
 * of the 128 MB isolate, which other invocations may share. Six of the largest events (1.8 MB) would
 * be 10.8 MB, so it binds on large events only; an event larger than all of it goes alone.
 */
export const BODY_BYTES_IN_FLIGHT = 8 * 1024 * 1024;

async function settleSafely(
	item: Parsed,
	env: Env,
	forwarding: Forwarding,
	schedule: readonly number[],
): Promise<Settlement> {
	try {
		return await settleMessage(item.job, item.attempt, forwarding, readDestinations(env), DEFAULT_RETRY_SCHEDULE);
	} catch (error) {
		// Never drop an event on a surprise (D1 down while reading a large event, a bug): retry it.
		const target = { eventId: item.job.eventId, destination: destinationOf(item.job) };
		return retryOrDead(schedule, target, item.attempt, `unexpected error: ${errorMessage(error)}`);
	}
}

/**
 * A dead event whose record could not be written is tried again after this long rather than
 * acked: its deliveries row is what puts it in the dead list and in `{"dead": true}` replay.
 */
export const DEAD_UNRECORDED_RETRY_SECONDS = 60;

/** Jobs parsed; a malformed one is settled dead at once (nothing could ever deliver it). */
function parseBatch(batch: MessageBatch<unknown>): { parsed: Parsed[]; malformed: Message<unknown>[] } {
	const parsed: Parsed[] = [];
	const broken: Message<unknown>[] = [];
	for (const message of batch.messages) {
		const job = v.safeParse(ForwardJobSchema, message.body);
		if (job.success)
			parsed.push({ message, job: job.output, attempt: (job.output.priorAttempts ?? 0) + message.attempts });
		else broken.push(message);
	}
	return { parsed, malformed: broken };
}

/** An event fanned out to several destinations in one batch asks for its media once. */
function oncePerBody(withMedia: (eventJson: string) => Promise<string>): (eventJson: string) => Promise<string> {
	const answers = new Map<string, Promise<string>>();
	return (eventJson) => {
		let answer = answers.get(eventJson);
		if (answer === undefined) {
			answer = withMedia(eventJson);
			answers.set(eventJson, answer);
		}
		return answer;
	};
}

/**
 * The FORWARD_QUEUE consumer: each message is acked, retried, or held back by its destination's
 * gate with its attempt count unchanged: parked in the gate for a pause or an open breaker, queued
 * again with a delay for the rate or concurrency limit.
 */
export async function forwardBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	const config = readDestinations(env);
	// Each event then fails with "forwarding is misconfigured"; the cause is said once a batch.
	if (!config.ok) log.error("config_invalid", { message: config.message });
	const schedule = config.ok ? config.value.forward.retryScheduleSeconds : DEFAULT_RETRY_SCHEDULE;
	const { parsed, malformed: broken } = parseBatch(batch);
	const erasures = await readErasures(
		env.DB,
		parsed.map((item) => item.job),
	);
	const { admitted, held, leases } = await admitBatch(
		env,
		config.ok ? config.value : null,
		parsed,
		ATTEMPTS_IN_FLIGHT,
		mediaWaitMs(env),
	);
	const heldBack = holdBack(env, held);
	// Per invocation, as the runtime counts connections (and a waiter must not outlive its request).
	const attempts = new Limit(ATTEMPTS_IN_FLIGHT);
	const forwarding: Forwarding = {
		loadEvent: eventLoader(env),
		bodyBytes: new Limit(BODY_BYTES_IN_FLIGHT),
		withMedia: oncePerBody((eventJson) => withMediaCopies(eventJson, env)),
		erasures,
	};
	const settled = [
		...broken.map((message) => ({
			message,
			job: null,
			attempt: message.attempts,
			settlement: malformed(message.body),
		})),
		...(await Promise.all(
			admitted.map(async (item) => {
				// Its rate-limit slot: waited for before it takes a connection, so the POST never starts early.
				if (item.startAt > 0) {
					const name = item.job.destination ?? "";
					await waitForTurn(name, (config.ok && config.value.byName.get(name)?.maxPerSecond) || null, item.startAt);
				}
				const settlement = await attempts.run(1, () => settleSafely(item, env, forwarding, schedule));
				return { message: item.message, job: item.job, attempt: item.attempt, settlement };
			}),
		)),
	];
	await heldBack;
	const at = new Date().toISOString();
	const recording: Outcomes = { rows: [], firstTries: [] };
	for (const { job, attempt, settlement } of settled) {
		// An erased message's event leaves no trace here either: no deliveries row, no first try.
		if (settlement.erased === true) continue;
		if (settlement.rerouted !== undefined) {
			// A replay's claim gets its outcome here; each routed job records its own.
			if (job?.replay === true) recording.rows.push(deliveryRow(settlement, attempt, job, at));
			continue;
		}
		addOutcome(recording, settlement, attempt, job, at);
	}
	// One data point for the batch's attempts (a rerouted replay is attempted by its routed jobs).
	recordConsumerBatch(
		env,
		settled.flatMap(({ attempt, settlement }) =>
			settlement.rerouted === undefined && settlement.erased !== true ? [{ ...settlement, attempt }] : [],
		),
	);
	const recorded = await recordOutcomes(env.DB, recording, at);
	for (const { message, attempt, settlement } of settled) {
		const fields = {
			eventId: settlement.eventId,
			destination: settlement.destination,
			attempt,
			outcome: settlement.outcome,
		};
		if (settlement.erased === true) {
			log.info("forward_erased", fields);
			message.ack();
		} else if (settlement.rerouted !== undefined) {
			// Each message's jobs in one send, acked only once they went: a failure re-sends none twice.
			if (await requeueJobs(env.FORWARD_QUEUE, settlement.rerouted)) message.ack();
			else message.retry({ delaySeconds: DEAD_UNRECORDED_RETRY_SECONDS });
		} else if (settlement.retryInSeconds !== null) {
			log.warn("forward_failed", { ...fields, error: settlement.error, retryIn: settlement.retryInSeconds });
			message.retry({ delaySeconds: settlement.retryInSeconds });
		} else if (settlement.outcome === "dead" && !recorded) {
			// Delivered and skipped events are acked even unrecorded: a resend would be worse than a lost row.
			log.error("forward_dead_unrecorded", { ...fields, error: settlement.error });
			message.retry({ delaySeconds: DEAD_UNRECORDED_RETRY_SECONDS });
		} else {
			if (settlement.outcome === "dead") log.error("forward_dead", { ...fields, error: settlement.error });
			message.ack();
		}
	}
	const outcomes = settled.map(({ settlement }) => settlement);
	await Promise.all([
		reportToGates(env, config.ok ? config.value : null, leases, outcomes),
		alertDead(env, recorded ? outcomes.filter((settlement) => settlement.outcome === "dead") : []),
	]);
}
