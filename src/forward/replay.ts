import * as v from "valibot";
import { isRfc3339, toUtcIso } from "../bandwidth/timestamp";
import { deleteDeliveries, insertDelivery } from "../db/deliveries.repository";
import { decodeEvent } from "../db/event-body";
import type { EventRow, StoredBody } from "../db/events.repository";
import { chunkForQueue } from "../ledger/queue-chunks";

/** One call re-enqueues at most this many events; "all dead" makes progress call after call. */
export const REPLAY_LIMIT = 1000;
const IN_LIST_CHUNK = 90;

const Timestamp = v.pipe(v.string(), v.check(isRfc3339, "must be an RFC 3339 timestamp"));

export const ReplayRequestSchema = v.union(
	[
		v.strictObject({
			eventIds: v.pipe(
				v.array(v.pipe(v.string(), v.startsWith("evt_", "event ids start with evt_"))),
				v.minLength(1, "eventIds must not be empty"),
				v.maxLength(REPLAY_LIMIT, `at most ${REPLAY_LIMIT} eventIds per call`),
			),
		}),
		v.strictObject({ messageId: v.pipe(v.string(), v.nonEmpty("messageId must not be empty")) }),
		v.strictObject({ since: Timestamp, until: v.optional(Timestamp) }),
		v.strictObject({ dead: v.literal(true) }),
	],
	'expected one of {"eventIds": [...]}, {"messageId": "…"}, {"since": "…", "until": "…"}, {"dead": true}',
);
export type ReplayRequest = v.InferOutput<typeof ReplayRequestSchema>;

type ReplayRow = Pick<EventRow, "id" | "message_id" | "sequence" | "normalized_json">;

async function all(statement: D1PreparedStatement): Promise<ReplayRow[]> {
	const rows = (await statement.all<Omit<ReplayRow, "normalized_json"> & StoredBody>()).results;
	return Promise.all(
		rows.map(async ({ event_gz, ...row }) => ({ ...row, normalized_json: await decodeEvent(event_gz) })),
	);
}

async function selectEvents(db: D1Database, request: ReplayRequest, limit: number): Promise<ReplayRow[]> {
	const columns = "SELECT id, message_id, sequence, event_gz FROM events";
	if ("eventIds" in request) {
		const rows: ReplayRow[] = [];
		const ids = [...new Set(request.eventIds)];
		for (let start = 0; start < ids.length; start += IN_LIST_CHUNK) {
			const chunk = ids.slice(start, start + IN_LIST_CHUNK);
			const placeholders = chunk.map((_, i) => `?${i + 1}`).join(", ");
			rows.push(...(await all(db.prepare(`${columns} WHERE id IN (${placeholders})`).bind(...chunk))));
		}
		return rows;
	}
	if ("messageId" in request) {
		return all(
			db.prepare(`${columns} WHERE message_id = ?1 ORDER BY sequence LIMIT ?2`).bind(request.messageId, limit),
		);
	}
	if ("since" in request) {
		const since = toUtcIso(request.since);
		const until = request.until === undefined ? "9999" : toUtcIso(request.until);
		return all(
			db
				.prepare(`${columns} WHERE event_time >= ?1 AND event_time < ?2 ORDER BY event_time, id LIMIT ?3`)
				.bind(since, until, limit),
		);
	}
	// Dead now: the latest deliveries row of the event says so (a replay row supersedes it).
	return all(
		db
			.prepare(
				`SELECT e.id, e.message_id, e.sequence, e.event_gz FROM deliveries d JOIN events e ON e.id = d.event_id
				 WHERE d.outcome = 'dead' AND d.id = (SELECT max(id) FROM deliveries WHERE event_id = d.event_id)
				 ORDER BY d.id LIMIT ?1`,
			)
			.bind(limit),
	);
}

/**
 * Puts stored events back on the forward queue with their original ids, so the downstream can
 * still de-duplicate; each replay is recorded as a `replayed` deliveries row.
 *
 * The row is written before the send: the consumer's outcome row must come after it, or a fast
 * "dead" would be hidden behind a later "replayed" and fall out of the dead list. A failed send
 * takes its rows back, so the events stay dead and can be replayed again.
 */
export async function replayEvents(
	env: Pick<Env, "DB" | "FORWARD_QUEUE">,
	request: ReplayRequest,
	limit = REPLAY_LIMIT,
): Promise<{ enqueued: number; truncated: boolean }> {
	const rows = await selectEvents(env.DB, request, limit + 1);
	const chosen = rows.slice(0, limit);
	const at = new Date().toISOString();
	let enqueued = 0;
	for (const chunk of chunkForQueue(chosen)) {
		const recorded = await env.DB.batch<{ id: number }>(
			chunk.messages.map(({ body }) =>
				insertDelivery(env.DB, {
					event_id: body.eventId,
					attempt: 0,
					outcome: "replayed",
					http_status: null,
					error: null,
					duration_ms: null,
					at,
				}),
			),
		);
		try {
			await env.FORWARD_QUEUE.sendBatch(
				chunk.messages.map((message) => ({ ...message, body: { ...message.body, replay: true } })),
			);
		} catch (error) {
			const ids = recorded.map((result) => result.meta.last_row_id);
			await deleteDeliveries(env.DB, ids);
			throw error;
		}
		enqueued += chunk.messages.length;
	}
	return { enqueued, truncated: rows.length > limit };
}
