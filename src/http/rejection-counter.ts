import { log } from "../log";

/** At most one line per counter per isolate per interval, however many requests are refused. */
export const REJECTION_LOG_INTERVAL_MS = 60_000;

/**
 * Requests refused before the caller is known (no or wrong credentials, an address outside the
 * allowlist, over the rate limit) cost whoever sends them nothing, so a line per request would let
 * anyone fill the Worker's logs. They are counted instead: the first refusal in an isolate is logged
 * at once, later ones as a count when the interval has passed and another one comes. A count still
 * pending when the isolate is evicted is lost; invocation logs keep every request anyway.
 */
export class RejectionCounter {
	readonly #event: string;
	readonly #now: () => number;
	#pending = 0;
	#lastLoggedAt = Number.NEGATIVE_INFINITY;

	constructor(event: string, now: () => number = Date.now) {
		this.#event = event;
		this.#now = now;
	}

	count(fields: Record<string, unknown> = {}): void {
		this.#pending += 1;
		const now = this.#now();
		if (now - this.#lastLoggedAt < REJECTION_LOG_INTERVAL_MS) return;
		const since = Number.isFinite(this.#lastLoggedAt) ? new Date(this.#lastLoggedAt).toISOString() : null;
		log.warn(this.#event, { count: this.#pending, since, ...fields });
		this.#pending = 0;
		this.#lastLoggedAt = now;
	}
}
