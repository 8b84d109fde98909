import * as v from "valibot";
import { isRfc3339, toUtcIso } from "../bandwidth/timestamp";
import { deleteDeliveries } from "../db/deliveries.repository";
import { BODY_READ_MAX_STORED_BYTES, readableBody, readEnd, readEventBodies } from "../db/events.repository";
import { acquireLease, releaseLease } from "../db/leases.repository";
import { type Claim, claimDeadEvents, claimEvents, deadEventIds } from "../db/replay-claims.repository";
import { messageIdsOf, type ReplayRow, rowsInWindow, rowsOfEvents, rowsOfMessage } from "../db/replay-rows.repository";
import { DESTINATION_NAME } from "../destinations/destination-schema";
import { DEFAULT_DESTINATION } from "../destinations/read-destinations";
import { chunkForQueue } from "../ledger/queue-chunks";
import { errorMessage, log } from "../log";

/** One call re-enqueues at most this many events; "all dead" makes progress call after call. */
export const REPLAY_LIMIT = 1000;

/**
 * `POST /v1/replay` runs one call at a time under this lease (migrations/0003). A call sends at
 * most REPLAY_LIMIT events and takes seconds; one whose Worker dies holding the lease blocks the
 * others for this long at most.
 */
export const REPLAY_LEASE = "replay";
export const REPLAY_LEASE_MS = 5 * 60 * 1000;

/** Decoded events held at once before they go to the queue: a call may replay 1,000 events of 1.8 MB. */
const SEND_GROUP_MAX_CHARS = 1_000_000;

const Timestamp = v.pipe(v.string(), v.check(isRfc3339, "must be an RFC 3339 timestamp"));
/** Only to this destination; without it, to every destination each event was routed to. */
const Destination = v.optional(
	v.pipe(v.string(), v.regex(DESTINATION_NAME, "destination must be a destination's name")),
);

export const ReplayRequestSchema = v.union(
	[
		v.strictObject({
			eventIds: v.pipe(
				v.array(v.pipe(v.string(), v.startsWith("evt_", "event ids start with evt_"))),
				v.minLength(1, "eventIds must not be empty"),
				v.maxLength(REPLAY_LIMIT, `at most ${REPLAY_LIMIT} eventIds per call`),
			),
			destination: Destination,
		}),
		v.strictObject({
			messageId: v.pipe(v.string(), v.nonEmpty("messageId must not be empty")),
			destination: Destination,
		}),
		v.strictObject({ since: Timestamp, until: v.optional(Timestamp), destination: Destination }),
		v.strictObject({ dead: v.literal(true), destination: Destination }),
	],
	'expected one of {"eventIds": [...]}, {"messageId": "…"}, {"since": "…", "until": "…"}, {"dead": true}, each with an optional "destination"',
);
export type ReplayRequest = v.InferOutput<typeof ReplayRequestSchema>;
type ChosenRequest = Exclude<ReplayRequest, { dead: true }>;

export interface ReplayResult {
	enqueued: number;
	truncated: boolean;
	/** Chosen events whose D1 body could not be decoded: not sent, their claims taken back. */
	unreadableEventIds?: string[];
}

type ClaimedRow = ReplayRow & { claimId: number; destination: string };

/** The deliveries a chosen event is replayed to. */
function pairsOf(rows: readonly ReplayRow[], destination: string | undefined) {
	return rows.flatMap((row) => {
		const targets =
			destination !== undefined
				? [destination]
				: row.destinations === null
					? [DEFAULT_DESTINATION]
					: (JSON.parse(row.destinations) as string[]);
		return targets.map((target) => ({
			eventId: row.id,
			messageId: row.message_id,
			destination: target,
			receivedAt: row.received_at,
		}));
	});
}

async function selectChosen(db: D1Database, request: ChosenRequest, limit: number): Promise<ReplayRow[]> {
	if ("eventIds" in request) {
		const ids = [...new Set(request.eventIds)];
		const messages = await messageIdsOf(db, ids);
		return rowsOfEvents(
			db,
			ids.map((id) => ({ id, messageId: messages.get(id) ?? null })),
			limit,
		);
	}
	if ("messageId" in request) return rowsOfMessage(db, request.messageId, limit);
	const since = toUtcIso(request.since) ?? request.since;
	const until = request.until === undefined ? "9999" : (toUtcIso(request.until) ?? request.until);
	return rowsInWindow(db, since, until, limit);
}

/** The claimed deliveries, in claim order; a claim whose event D1 no longer holds is left out. */
function claimedRows(rows: readonly ReplayRow[], claims: readonly Claim[]): ClaimedRow[] {
	const byId = new Map(rows.map((row) => [row.id, row]));
	return claims.flatMap((claim) => {
		const row = byId.get(claim.event_id);
		return row === undefined ? [] : [{ ...row, claimId: claim.id, destination: claim.destination }];
	});
}

/** The claimed events of a dead replay, found after the claim by the key their deliveries rows give. */
function selectClaimed(db: D1Database, claims: readonly Claim[]): Promise<ReplayRow[]> {
	const wanted = new Map(claims.map((claim) => [claim.event_id, claim.message_id]));
	return rowsOfEvents(
		db,
		[...wanted].map(([id, messageId]) => ({ id, messageId })),
		wanted.size,
	);
}

/** What sendClaimed did with the claims it was given. */
interface SendProgress {
	/** Claims whose job is on the queue. */
	sent: Set<number>;
	/** Claims of events whose body could not be decoded (logged), by event id: never sent. */
	unreadable: Map<number, string>;
}

/**
 * Sends the claimed events to the queue a slice at a time: bodies read within
 * BODY_READ_MAX_STORED_BYTES, decoded, and sent once SEND_GROUP_MAX_CHARS of them are held. A
 * body that cannot be decoded is skipped and recorded, so one damaged row does not fail the replay
 * of every event around it.
 */
async function sendClaimed(
	env: Pick<Env, "DB" | "FORWARD_QUEUE">,
	rows: readonly ClaimedRow[],
	progress: SendProgress,
): Promise<void> {
	const { sent } = progress;
	let pending: Array<Omit<ClaimedRow, "destinations"> & { normalized_json: string; destinations: string[] | null }> =
		[];
	let pendingChars = 0;
	const flush = async () => {
		for (const chunk of chunkForQueue(pending)) {
			// One job per claim (each row has one destination), in the rows' order.
			await env.FORWARD_QUEUE.sendBatch(
				chunk.messages.map((message, index) => ({
					...message,
					body: { ...message.body, replay: true, claimId: chunk.rows[index]?.claimId },
				})),
			);
			for (const row of chunk.rows) sent.add(row.claimId);
		}
		pending = [];
		pendingChars = 0;
	};
	for (let start = 0; start < rows.length; ) {
		const group = rows.slice(start, readEnd(rows, start, BODY_READ_MAX_STORED_BYTES));
		const bodies = await readEventBodies(env.DB, group);
		// An event claimed for several destinations is decoded once.
		const decoded = new Map<string, Promise<string | null>>();
		for (const row of group) {
			const body = bodies.get(row.id);
			// Purged since it was claimed (retention, the byte budget): nothing left to send.
			if (body === undefined) continue;
			if (!decoded.has(row.id)) decoded.set(row.id, readableBody(row.id, body));
			const json = await decoded.get(row.id);
			if (json == null) {
				progress.unreadable.set(row.claimId, row.id);
				continue;
			}
			// One job per claim, to the claim's own destination; an event accepted unrouted (while
			// DESTINATIONS was invalid) goes as it was queued, routed by the consumer as it reads it.
			const unrouted = row.destinations === null && row.destination === DEFAULT_DESTINATION;
			pending.push({ ...row, normalized_json: json, destinations: unrouted ? null : [row.destination] });
			pendingChars += json.length;
			if (pendingChars >= SEND_GROUP_MAX_CHARS) await flush();
		}
		bodies.clear();
		start += group.length;
	}
	await flush();
}

/**
 * Puts stored events back on the forward queue with their original ids, so the downstream can
 * still de-duplicate; each replay is a `replayed` deliveries row, its claim on the event.
 *
 * The claims are written before the send: the consumer's outcome row must come after its claim, or
 * a fast "dead" would be hidden behind a later "replayed". A failed send takes back the claims it
 * did not send, so those events stay dead and can be replayed again. If the Worker dies between
 * claim and send, or the taking back fails too, the claims expire (REPLAY_CLAIM_TTL_MS) and the
 * events are dead again: a replay can delay a dead event, never hide it.
 */
export async function replayEvents(
	env: Pick<Env, "DB" | "FORWARD_QUEUE">,
	request: ReplayRequest,
	limit = REPLAY_LIMIT,
	now = new Date(),
): Promise<ReplayResult> {
	const db = env.DB;
	const chosen = "dead" in request ? [] : await selectChosen(db, request, limit + 1);
	// For {"dead": true}, one statement takes only events still dead and not claimed: two concurrent
	// calls never both send one. The chosen events are claimed whatever their state.
	const claims =
		"dead" in request
			? await claimDeadEvents(db, now, limit, request.destination ?? null)
			: await claimEvents(db, pairsOf(chosen.slice(0, limit), request.destination), now);
	const progress: SendProgress = { sent: new Set(), unreadable: new Map() };
	const { sent } = progress;
	try {
		// Whatever is still dead once this call's share is claimed lies beyond it.
		const truncated =
			"dead" in request
				? claims.length === limit && (await deadEventIds(db, now, 1, request.destination ?? null)).length > 0
				: chosen.length > limit;
		const rows = "dead" in request ? await selectClaimed(db, claims) : chosen;
		await sendClaimed(env, claimedRows(rows, claims), progress);
		// An unsent claim would hide a dead event behind a `replayed` row until it expired.
		await deleteDeliveries(db, [...progress.unreadable.keys()]);
		const unreadable = [...new Set(progress.unreadable.values())];
		return { enqueued: sent.size, truncated, ...(unreadable.length > 0 ? { unreadableEventIds: unreadable } : {}) };
	} catch (error) {
		const unsent = claims.filter((row) => !sent.has(row.id)).map((row) => row.id);
		try {
			await deleteDeliveries(env.DB, unsent);
		} catch (cleanup) {
			log.error("replay_claims_kept", { claims: unsent.length, error: errorMessage(cleanup) });
		}
		throw error;
	}
}

export type ExclusiveReplay = { ok: true; value: ReplayResult } | { ok: false; reason: "replay_in_progress" };

/** replayEvents under the replay lease: a second call while one runs is refused, not queued. */
export async function replayExclusively(
	env: Pick<Env, "DB" | "FORWARD_QUEUE">,
	request: ReplayRequest,
): Promise<ExclusiveReplay> {
	const holder = crypto.randomUUID();
	if (!(await acquireLease(env.DB, REPLAY_LEASE, holder, new Date(), REPLAY_LEASE_MS))) {
		return { ok: false, reason: "replay_in_progress" };
	}
	try {
		return { ok: true, value: await replayEvents(env, request) };
	} finally {
		try {
			await releaseLease(env.DB, REPLAY_LEASE, holder);
		} catch (error) {
			// The lease expires on its own; until then replays answer 409.
			log.error("replay_lease_kept", { error: errorMessage(error) });
		}
	}
}
