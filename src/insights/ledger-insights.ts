import { DAY_MS, partitionEnd } from "../ledger/partitions";
import type { DayTables } from "../ledger/store/day-tables";
import type { LedgerEntry } from "../ledger/store/ledger-rows";
import type { LedgerSql } from "../ledger/store/ledger-sql";
import { FactRows } from "./fact-rows";
import { type Fact, factOf, insightInputOf } from "./facts";
import { addFact, isEmptyTally, mergeTally, type Tally } from "./tally";

/*
 * A ledger's side of the insights (README "Insights"). Each accepted event's fact is decided in the
 * accept transaction and stored in its row; the facts since the last count are also added up in
 * memory. Once a minute the cron's visit hands them out as snapshots, and the cron writes every
 * ledger's snapshots to D1 in one batch that also moves this ledger's mark in insight_marks to the
 * snapshots' `through` (src/insights/record-insights.ts). The next visit brings the mark back: what
 * it covers is dropped here. Nothing is written in the ledger per event or per count.
 *
 * Snapshots cover intervals of accept time (rows' accepted_at): (from, through]. A snapshot handed
 * out under one version of insight_marks can be written only while that version stands, so once
 * the version has moved on, an unwritten snapshot is dead and is handed out again (merged). A new
 * instance (after eviction or a deploy) recovers the facts of the rows its predecessors accepted
 * after the mark, with one scan of the day tables.
 */

/** What the cron brings to each ledger: its mark and the version of insight_marks it read. */
export interface InsightsVisit {
	/** Accept time through which this ledger's facts are counted; null before its first count. */
	committed: number | null;
	version: number;
}

/** Facts of the rows accepted in (…, through], to be counted. */
export interface InsightSnapshot {
	through: number;
	tally: Tally;
}

interface HeldSnapshot extends InsightSnapshot {
	from: number;
	version: number;
	/** Recovered by a scan: an earlier instance's count may still land inside it (see #recut). */
	recovered: boolean;
}

const COUNTED_STATUSES = new Set(["sending", "sent", "delivered", "failed", "received"]);

export class LedgerInsights {
	readonly #rows: FactRows;
	readonly #days: DayTables;
	readonly #start = Date.now();
	/** Rows are accepted at this time or later: never at or before a `through` handed out. */
	#floor = this.#start;
	#open: Tally = {};
	#held: HeldSnapshot[] = [];
	#recoveredAt: number | null = null; // the version under which the scan ran; null before it
	#visiting: Promise<unknown> = Promise.resolve();

	constructor(db: LedgerSql, days: DayTables) {
		this.#rows = new FactRows(db);
		this.#days = days;
		this.#rows.addInsightColumn(days.partitions);
	}

	/** The accept time to stamp rows accepted at `now` with. */
	clock(now: number): number {
		return Math.max(now, this.#floor);
	}

	/** What the entry's row stores for its fact. */
	stored(fact: Fact | null): string | null {
		return this.#rows.stored(fact);
	}

	/** The fact of an entry about to be appended (inside the accept transaction); null: it counts nothing. */
	factOf(entry: LedgerEntry): Fact | null {
		if (entry.status === null || !COUNTED_STATUSES.has(entry.status)) return null;
		return factOf(
			{
				type: entry.type,
				status: entry.status,
				direction: entry.direction,
				recipient: entry.recipient,
				from: entry.from_number,
				owner: entry.owner,
				applicationId: entry.application_id,
				errorCode: entry.error_code,
				eventTime: entry.event_time,
				receivedAt: entry.received_at,
				input: insightInputOf(entry.normalized_json),
			},
			this.#rows.earlier(this.#days.partitions, entry.message_id),
		);
	}

	/** The facts of an accept transaction that committed. */
	accepted(facts: readonly Fact[]): void {
		for (const fact of facts) addFact(this.#open, fact);
		this.#rows.learn(this.#days.partitions);
	}

	/**
	 * The cron's visit: drops what the mark covers, recovers or re-hands what no count took, and
	 * answers every snapshot not yet counted. Undefined without a visit (D1 could not be read).
	 * Visits run one at a time: a recovery's scan awaits bodies, and a second visit (an overlapping
	 * cron run) must not recover the same rows again.
	 */
	visit(visit: InsightsVisit | undefined): Promise<InsightSnapshot[] | undefined> {
		const next = this.#visiting.then(() => this.#visit(visit));
		this.#visiting = next.catch(() => undefined);
		return next;
	}

	async #visit(visit: InsightsVisit | undefined): Promise<InsightSnapshot[] | undefined> {
		if (visit === undefined) return undefined;
		const committed = visit.committed ?? Number.NEGATIVE_INFINITY;
		// A mark past this instance's clock (a predecessor on a machine whose clock ran ahead):
		// rows stamped after it stay distinguishable from what it covers.
		if (committed >= this.#floor) this.#floor = committed + 1;
		if (this.#recoveredAt === null) await this.#recover(committed, visit.version);
		else await this.#recut(committed, visit.version);
		// From here on, no await: accepts may not slip in between the drop and the seal.
		this.#held = this.#held.filter((held) => held.through > committed);
		this.#reclaimDead(visit.version);
		if (!isEmptyTally(this.#open)) {
			const through = Math.max(Date.now(), this.#floor);
			const from = this.#held.at(-1)?.through ?? this.#start - 1;
			this.#held.push({ from, through, tally: this.#open, version: visit.version, recovered: false });
			this.#open = {};
			this.#floor = through + 1;
		}
		return this.#held.map(({ through, tally }) => ({ through, tally }));
	}

	/** Facts in memory, not handed out yet, and held (for tests and the maintenance report). */
	pendingKeys(): number {
		return Object.keys(this.#open).length + this.#held.reduce((sum, held) => sum + Object.keys(held.tally).length, 0);
	}

	/** A new instance: the rows its predecessors accepted after the mark have not been counted. */
	async #recover(committed: number, version: number): Promise<void> {
		const tally = await this.#scan(committed);
		this.#recoveredAt = version;
		if (isEmptyTally(tally)) return;
		this.#held.unshift({ from: committed, through: this.#start - 1, tally, version, recovered: true });
	}

	/**
	 * A predecessor's count that was being written while this instance scanned can land afterwards,
	 * moving the mark into the recovered interval: what it counted is taken out by scanning again
	 * from the mark. Once the version has moved past the scan's, no such count can land any more.
	 */
	async #recut(committed: number, version: number): Promise<void> {
		const recovered = this.#held.find((held) => held.recovered);
		if (recovered === undefined) return;
		if (committed > recovered.from && committed < recovered.through) {
			recovered.tally = await this.#scan(committed);
			recovered.from = committed;
		}
		if (this.#recoveredAt !== null && version > this.#recoveredAt) recovered.recovered = false;
	}

	/** Snapshots handed out under an older version were not written (or they would be dropped): hand them out again, as one. */
	#reclaimDead(version: number): void {
		const dead = this.#held.filter((held) => held.version < version && !held.recovered);
		if (dead.length <= 1) {
			for (const held of dead) held.version = version;
			return;
		}
		const tally: Tally = {};
		for (const held of dead) mergeTally(tally, held.tally);
		const merged: HeldSnapshot = {
			from: Math.min(...dead.map((held) => held.from)),
			through: Math.max(...dead.map((held) => held.through)),
			tally,
			version,
			recovered: false,
		};
		this.#held = [merged, ...this.#held.filter((held) => !dead.includes(held))].sort((a, b) => a.through - b.through);
	}

	/** The facts of rows accepted after `committed` and before this instance began. */
	async #scan(committed: number): Promise<Tally> {
		// A row is filed under its receipt's hour (or a later one): days ending a day before the mark hold none.
		const partitions = this.#days.partitions.filter((name) => (partitionEnd(name) ?? 0) > committed - DAY_MS);
		const tally: Tally = {};
		for (const fact of await this.#rows.acceptedBetween(partitions, committed, this.#start)) addFact(tally, fact);
		return tally;
	}
}
