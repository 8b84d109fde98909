import { DEFAULT_RETENTION_CONFIG, readRetentionConfig } from "../config";
import { eraseFirstTries } from "../db/attempts.repository";
import { ledgerFor, ledgerNameOf } from "../ledger/ledger-client";
import { eraseMedia } from "../media/erase-media";
import { creationTimeOf, messageHours, scanHours } from "./archive-hours";
import type { ArchiveLine } from "./archive-rewrite";
import {
	acceptedFiles,
	deleteDeliveriesOfEvents,
	deleteErasedDeliveries,
	eraseMessagesFromD1,
	tombstoneMessages,
} from "./erasure.repository";
import { logErasure } from "./erasure-audit";
import { ErasureBudget, type ErasureLimits } from "./erasure-budget";
import { addCounts, type ErasureResult, noCounts } from "./erasure-counts";
import { decodeMessageCursor, encodeErasureCursor, type HourRuns, type MessageCursor } from "./erasure-cursor";
import { erasureSubject } from "./erasure-subject";

export type ErasureEnv = Pick<Env, "DB" | "MESSAGE_LEDGER"> &
	Partial<Pick<Env, "ARCHIVE" | "ADMIN_TOKEN" | "ARCHIVE_RETENTION_DAYS" | "DEDUPE_DAYS" | "MEDIA_COPIER">>;

export interface ErasureOptions {
	/** From the answer of the call before, to continue. */
	cursor?: string | undefined;
	now?: number;
	limits?: Partial<ErasureLimits>;
}

/** Lines of one message in an object: the id must appear in the line before it is parsed. */
export function linesOfMessages(messageIds: ReadonlySet<string>): (lines: readonly ArchiveLine[]) => Set<number> {
	const needles = [...messageIds].map((id) => JSON.stringify(id));
	return (lines) => {
		const picked = new Set<number>();
		for (const [index, line] of lines.entries()) {
			if (!needles.some((needle) => line.text.includes(needle))) continue;
			const messageId = line.event?.messageId;
			if (messageId != null && messageIds.has(messageId)) picked.add(index);
		}
		return picked;
	};
}

/**
 * DELETE /v1/messages/:id. The ledger first, so that nothing of the message is copied to D1 or
 * archived after D1 and the archive are cleaned; then D1 (events, their deliveries, quarantined
 * elements of the message); then the archive objects of the message's bucket in the hours it can
 * be in: those its events were filed under (ledger) or received in (D1), and the five days from
 * the creation time in its id. The archive walk is bounded: a call that runs out of budget answers
 * a cursor, and the next call with it does only what is left of the walk.
 */
export async function eraseMessage(
	env: ErasureEnv,
	messageId: string,
	options: ErasureOptions = {},
): Promise<ErasureResult> {
	const now = options.now ?? Date.now();
	const budget = new ErasureBudget(options.limits);
	const subject = await erasureSubject(env, "message", messageId);
	let cursor: MessageCursor | null = null;
	if (options.cursor !== undefined) {
		cursor = decodeMessageCursor(options.cursor);
		if (cursor === null || cursor.s !== subject) return { ok: false, reason: "invalid_cursor" };
	}

	let counts = noCounts();
	let runs: HourRuns;
	let after: string | null;
	if (cursor === null) {
		// First: no copy still in flight may bring the message back to D1 once it is gone.
		await tombstoneMessages(env.DB, [messageId], new Date(now).toISOString()).run();
		const stub = ledgerFor(env, messageId);
		// The first tries of what the ledger holds go before it lets go (see eraseMessages).
		const firstTries = await eraseFirstTries(env.DB, acceptedFiles(await stub.accepted(messageId)));
		const ledger = await stub.erase(messageId);
		const mediaObjects = await eraseMedia(env, [messageId]);
		const d1 = await eraseMessagesFromD1(env.DB, [messageId], ledger.eventIds);
		budget.spend(3 + firstTries.statements + d1.statements);
		counts = addCounts(counts, {
			...d1,
			quarantine: d1.quarantine + ledger.quarantine,
			ledgerRows: ledger.rows,
			mediaObjects,
		});
		const retention = readRetentionConfig(env);
		runs = messageHours({
			ledgerHours: ledger.hours,
			receivedAt: d1.receivedAt,
			createdAt: creationTimeOf(messageId, now),
			now,
			archiveRetentionDays: (retention.ok ? retention.value : DEFAULT_RETENTION_CONFIG).archiveRetentionDays,
		});
		after = null;
	} else {
		runs = cursor.h;
		after = cursor.a;
	}

	if (env.ARCHIVE === undefined) {
		runs = [];
	} else {
		const scanned = await scanHours(
			env.ARCHIVE,
			ledgerNameOf(env, messageId),
			{ runs, after },
			budget,
			linesOfMessages(new Set([messageId])),
		);
		counts = addCounts(counts, scanned.counts);
		// Events known only from the archive (D1 purged them) may still have deliveries rows and
		// first tries, filed by the receipt time their lines carry.
		const eventIds = scanned.removed.map((event) => event.id);
		if (eventIds.length > 0) {
			const result = await deleteDeliveriesOfEvents(env.DB, eventIds).run();
			counts = addCounts(counts, { deliveries: result.meta.changes ?? 0 });
			const firstTries = await eraseFirstTries(
				env.DB,
				scanned.removed.flatMap(({ id, receivedAt }) => (receivedAt === null ? [] : [{ id, receivedAt }])),
			);
			budget.spend(1 + firstTries.statements);
		}
		runs = scanned.runs;
		after = scanned.after;
	}

	const complete = runs.length === 0;
	if (complete) {
		// What a failed call before this one may have left behind (deleteErasedDeliveries).
		const swept = await deleteErasedDeliveries(env.DB).run();
		counts = addCounts(counts, { deliveries: swept.meta.changes ?? 0 });
	}
	const totals = addCounts(cursor?.t ?? noCounts(), counts);
	const next = complete ? null : encodeErasureCursor({ k: "message", s: subject, h: runs, a: after, t: totals });
	logErasure("message", subject, complete, counts, totals);
	return { ok: true, value: { ...counts, complete, cursor: next } };
}
