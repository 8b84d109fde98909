import { ARCHIVE_ROOT } from "../archive/archive-prefixes";
import { isNoSuchEventTable, listEventTables } from "../db/event-tables";
import { deleteQuarantineIds, type QuarantineScanRow, scanQuarantine } from "../db/quarantine.repository";
import { allLedgerNames, ledgerNamed } from "../ledger/ledger-client";
import { settleAll } from "../settle-all";
import { type ArchiveLine, involves, rewriteArchiveObject, uncompressedBytes } from "./archive-rewrite";
import type { ErasureEnv, ErasureOptions } from "./erase-message";
import { eraseMessages } from "./erase-messages";
import { deleteErasedDeliveries, type EventScanRow, scanEventsForNumber, type TableKey } from "./erasure.repository";
import { logErasure } from "./erasure-audit";
import { ErasureBudget } from "./erasure-budget";
import { addCounts, type ErasureCounts, type ErasureResult, noCounts } from "./erasure-counts";
import { decodePhoneCursor, encodeErasureCursor, type PhoneCursor, type PhonePhase } from "./erasure-cursor";
import { erasureSubject } from "./erasure-subject";
import { quarantineNeedles } from "./number-match";

/** Ledgers asked at once: a Worker lets six connections wait for headers. */
const PARALLEL = 6;

const START: readonly [string, string] = ["", ""];
const FIRST_TABLE: TableKey = ["", "", ""];

type Position = PhoneCursor["a"];
type Step = { counts: Partial<ErasureCounts>; done: boolean; after: Position; stopped?: boolean };

interface Walk {
	env: ErasureEnv;
	phoneNumber: string;
	budget: ErasureBudget;
	now: number;
}

const keyOf = (after: Position): readonly [string, string] =>
	Array.isArray(after) && after.length === 2 ? after : START;

/** Where the events phase stands; a position from before the day tables starts it again. */
const tableKeyOf = (after: Position): TableKey => (Array.isArray(after) && after.length === 3 ? after : FIRST_TABLE);

/**
 * What D1 may not hold yet: every ledger answers the messages of its pending rows (outbox,
 * unaccounted handoffs) that name the number, and erases the quarantined elements it holds that
 * mention it; the messages found are erased from their ledgers, D1 and media. Asked once, by the
 * erasure's first call. The ledgers let go of them only within eraseMessages, after their
 * tombstone and media: they may be the only place naming them with the number, and a call that
 * failed after they had let go would, retried, never find them again (seeds 3100 and 7022).
 */
async function pendingStep(walk: Walk): Promise<ErasureCounts> {
	const { env, phoneNumber, budget } = walk;
	const names = allLedgerNames(env);
	const messageIds = new Set<string>();
	let quarantine = 0;
	for (let start = 0; start < names.length; start += PARALLEL) {
		const answers = await settleAll(
			names.slice(start, start + PARALLEL).map((name) => ledgerNamed(env, name).eraseNumberPending(phoneNumber)),
		);
		for (const answer of answers) {
			for (const id of answer.messageIds) messageIds.add(id);
			quarantine += answer.quarantine;
		}
	}
	budget.spend(names.length);
	const erased = await eraseMessages(env, [...messageIds], budget, { ledgers: true });
	return addCounts(noCounts(), { ...erased, quarantine: erased.quarantine + quarantine });
}

/**
 * D1's event tables in name order (the legacy one first, then the days), each in key order, a
 * chunk a step. Every message with an event the number sent, received or owns is erased whole,
 * ledgers included: a group message's events about its other recipients go with it.
 */
async function eventsStep(walk: Walk, after: Position): Promise<Step> {
	const { env, phoneNumber, budget } = walk;
	const pending = after === null ? await pendingStep(walk) : noCounts();
	const limit = budget.limits.eventChunkRows;
	const from = tableKeyOf(after);
	const tables = await listEventTables(env.DB);
	// The table the walk was in, or the next one if that is gone (dropped by retention or the budget).
	const table = tables.find((name) => name >= from[0]);
	if (table === undefined) return { counts: pending, done: true, after: [...from] };
	const key: TableKey = table === from[0] ? from : [table, "", ""];
	const next = tables.find((name) => name > table);
	const nextTable = (): Step =>
		next === undefined
			? { counts: {}, done: true, after: [...key] }
			: { counts: {}, done: false, after: [next, "", ""] };
	let rows: EventScanRow[];
	try {
		rows = (await scanEventsForNumber(env.DB, table, phoneNumber, key, limit).all<EventScanRow>()).results;
	} catch (error) {
		if (!isNoSuchEventTable(error)) throw error;
		return { ...nextTable(), counts: pending };
	}
	budget.spend(2);
	const messageIds = [...new Set(rows.filter((row) => row.hit === 1).map((row) => row.message_id))];
	const counts = addCounts(pending, await eraseMessages(env, messageIds, budget, { ledgers: true }));
	const last = rows.at(-1);
	if (rows.length === limit && last !== undefined) {
		return { counts, done: false, after: [table, last.message_id, last.id] };
	}
	return { ...nextTable(), counts };
}

/**
 * Quarantined elements that mention the number anywhere, as a JSON string: nothing in an invalid
 * element can be trusted to sit where a valid one has it. The escaped form finds it inside the
 * JSON prefix kept of an element too large to store whole.
 */
async function quarantineStep(walk: Walk, after: Position): Promise<Step> {
	const { env, phoneNumber, budget } = walk;
	const limit = budget.limits.quarantineChunkRows;
	const needles = quarantineNeedles(phoneNumber);
	const from = keyOf(after);
	let quarantine = 0;
	const rows = (await scanQuarantine(env.DB, needles, from, limit).all<QuarantineScanRow>()).results;
	budget.spend(1);
	const hits = rows.filter((row) => row.hit === 1).map((row) => row.id);
	if (hits.length > 0) {
		quarantine = (await deleteQuarantineIds(env.DB, hits).run()).meta.changes ?? 0;
		budget.spend(1);
	}
	const last = rows.at(-1);
	return {
		counts: { quarantine },
		done: rows.length < limit,
		after: last === undefined ? [...from] : [last.received_at, last.id],
	};
}

/** The lines of every message the number is part of in this object (the lines naming it, and their messages' others). */
function linesInvolving(phoneNumber: string): (lines: readonly ArchiveLine[]) => Set<number> {
	const quoted = JSON.stringify(phoneNumber);
	return (lines) => {
		const picked = new Set<number>();
		const messages = new Set<string>();
		for (const [index, line] of lines.entries()) {
			if (!line.text.includes(quoted) || line.event === null || !involves(line.event, phoneNumber)) continue;
			picked.add(index);
			if (line.event.messageId !== null) messages.add(line.event.messageId);
		}
		if (messages.size === 0) return picked;
		const needles = [...messages].map((id) => JSON.stringify(id));
		for (const [index, line] of lines.entries()) {
			if (picked.has(index) || !needles.some((needle) => line.text.includes(needle))) continue;
			const messageId = line.event?.messageId;
			if (messageId != null && messages.has(messageId)) picked.add(index);
		}
		return picked;
	};
}

/**
 * Every archive object in key (= time) order, the whole retained range: an object is read only
 * if the budget allows its bytes, and rewritten when it holds the number. The messages found are
 * erased from D1 too, and from their ledger while it can still remember them — before their lines
 * leave the object: the archive may be the only place left that names them with the number (D1
 * evicts archived events, and a ledger's pending step reads only rows not yet copied), so an
 * erasure that failed after the rewrite and before the ledger would, retried, never find them
 * again (found by the fault simulation, seeds 6096 and 3130).
 */
async function archiveStep(walk: Walk, archive: R2Bucket, after: Position): Promise<Step> {
	const { env, phoneNumber, budget } = walk;
	const listed = await archive.list({
		prefix: ARCHIVE_ROOT,
		include: ["customMetadata"],
		...(typeof after === "string" ? { startAfter: after } : {}),
	});
	budget.spend(1);
	let counts = noCounts();
	let position: Position = after;
	for (const object of listed.objects) {
		const bytes = uncompressedBytes(object);
		if (!budget.allows(2, bytes)) return { counts, done: false, after: position, stopped: true };
		const erasedIds = new Set<string>();
		const rewrite = await rewriteArchiveObject(archive, object.key, linesInvolving(phoneNumber), async (removed) => {
			const messageIds = [...new Set(removed.flatMap((event) => event.messageId ?? []))].filter(
				(id) => !erasedIds.has(id),
			);
			// The ledgers are asked whatever the hour's age: one forgets a day only once it is archived,
			// so after an archive outage it remembers days well past DEDUPE_DAYS (found by the fault
			// simulation). A bucket ledger always exists; asking one that forgot costs a request.
			const erased = await eraseMessages(env, messageIds, budget, {
				ledgers: true,
				knownEvents: removed,
			});
			for (const id of messageIds) erasedIds.add(id);
			counts = addCounts(counts, erased);
		});
		budget.spend(rewrite.operations, rewrite.bytes);
		if (rewrite.removed.length > 0) {
			counts = addCounts(counts, { archiveObjectsRewritten: 1, archiveEvents: rewrite.removed.length });
		}
		position = object.key;
		budget.advance();
	}
	// A page can end short of the limit with more to come (`include`): the next step lists on from here.
	return { counts, done: !listed.truncated, after: position };
}

const NEXT_PHASE: Record<PhonePhase, PhonePhase | null> = {
	events: "quarantine",
	quarantine: "archive",
	archive: null,
};

/**
 * POST /v1/erase: every event where the number is sender, recipient or owner, and the rest of
 * those messages, from the ledgers, D1 and the archive; and the quarantined elements that mention
 * it. Nothing indexes D1 or the archive by number, so the walk goes in bounded steps (events, then
 * quarantine, then the archive) and a call that runs out of budget answers a cursor to go on from.
 */
export async function erasePhoneNumber(
	env: ErasureEnv,
	phoneNumber: string,
	options: ErasureOptions = {},
): Promise<ErasureResult> {
	const walk: Walk = { env, phoneNumber, budget: new ErasureBudget(options.limits), now: options.now ?? Date.now() };
	const subject = await erasureSubject(env, "phone_number", phoneNumber);
	let cursor: PhoneCursor | null = null;
	if (options.cursor !== undefined) {
		cursor = decodePhoneCursor(options.cursor);
		if (cursor === null || cursor.s !== subject) return { ok: false, reason: "invalid_cursor" };
	}
	let phase: PhonePhase | null = cursor?.p ?? "events";
	let after: Position = cursor?.a ?? null;
	let counts = noCounts();
	while (phase !== null && walk.budget.allows(1)) {
		let step: Step;
		switch (phase) {
			case "events":
				step = await eventsStep(walk, after);
				break;
			case "quarantine":
				step = await quarantineStep(walk, after);
				break;
			case "archive":
				step =
					env.ARCHIVE === undefined
						? { counts: {}, done: true, after: null }
						: await archiveStep(walk, env.ARCHIVE, after);
				break;
		}
		counts = addCounts(counts, step.counts);
		if (step.done) {
			phase = NEXT_PHASE[phase];
			after = null;
		} else {
			after = step.after;
		}
		if (step.stopped) break;
		walk.budget.advance();
	}

	const complete = phase === null;
	if (complete) {
		// What a failed call before this one may have left behind (deleteErasedDeliveries).
		const swept = await deleteErasedDeliveries(env.DB).run();
		counts = addCounts(counts, { deliveries: swept.meta.changes ?? 0 });
	}
	const totals = addCounts(cursor?.t ?? noCounts(), counts);
	const next =
		phase === null ? null : encodeErasureCursor({ k: "phone_number", s: subject, p: phase, a: after, t: totals });
	logErasure("phone_number", subject, complete, counts, totals);
	return { ok: true, value: { ...counts, complete, cursor: next } };
}
