import type { SimElement } from "./workload";

/*
 * What the simulated Bandwidth and operator did and were told: the facts the invariants are
 * checked against. Times are virtual.
 */

export interface PostRecord {
	callback: number;
	at: number;
	status: number;
	answeredAt: number;
}

export interface ErasureRecord {
	kind: "message" | "number";
	subject: string;
	startedAt: number;
	completedAt: number | null;
	/** The messages the erasure must remove, as the simulation knows them when it starts. */
	messageIds: Set<string>;
	status: number;
	complete: boolean;
}

export interface ReplayRecord {
	at: number;
	body: Record<string, unknown>;
	status: number;
	/** Message ids covered, for a replay by message. */
	messageId?: string;
}

export class World {
	readonly posts: PostRecord[] = [];
	/** When each element was first answered 2xx (virtual). */
	readonly acceptedAt = new Map<string, number>();
	/** Every 2xx answer to a callback holding the element: a retry after an erasure is accepted anew. */
	readonly answeredAt = new Map<string, number[]>();
	readonly erasures: ErasureRecord[] = [];
	readonly replays: ReplayRecord[] = [];
	/** Answers that broke a promise by themselves (a 4xx to a genuine event). */
	readonly badAnswers: Array<{ callback: number; status: number; body: string }> = [];
	/** Callbacks Bandwidth still has to retry: non-2xx or no answer. */
	readonly retrying = new Map<number, number>();

	accepted(element: SimElement, at: number): void {
		if (!this.acceptedAt.has(element.tag)) this.acceptedAt.set(element.tag, at);
		this.answeredAt.set(element.tag, [...(this.answeredAt.get(element.tag) ?? []), at]);
	}

	/**
	 * The erasures an element's event must have been removed by: it was accepted before one
	 * started, and Bandwidth did not send it again after (the ledger forgets an erased id, so a
	 * retry is a new event).
	 */
	erasedBy(element: SimElement): ErasureRecord[] {
		const accepted = this.acceptedAt.get(element.tag);
		if (accepted === undefined) return [];
		const answers = this.answeredAt.get(element.tag) ?? [];
		return this.erasures.filter(
			(erasure) =>
				erasure.complete &&
				erasure.messageIds.has(element.messageId) &&
				accepted < erasure.startedAt &&
				answers.every((at) => at < erasure.startedAt),
		);
	}

	/**
	 * Accepted (again) while an erasure of its message ran: either outcome is right. (Accepted after
	 * the erasure finished, it is a new event and must be kept.) An erasure by number covers what
	 * names the number when its walk gets there, so a message first seen while it ran is covered too.
	 */
	erasureAmbiguous(element: SimElement): boolean {
		const answers = this.answeredAt.get(element.tag) ?? [];
		return this.erasures.some(
			(erasure) =>
				(erasure.messageIds.has(element.messageId) ||
					(erasure.kind === "number" && element.numbers.includes(erasure.subject))) &&
				answers.some((at) => at >= erasure.startedAt && at <= (erasure.completedAt ?? Number.POSITIVE_INFINITY)),
		);
	}

	/** Whether a replay may have sent this event again. */
	replayCovers(messageId: string): boolean {
		return this.replays.some(
			(replay) => replay.status < 300 && (replay.messageId === undefined || replay.messageId === messageId),
		);
	}
}
