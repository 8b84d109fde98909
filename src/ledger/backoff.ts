const FIRST_MS = 1000;
const MAX_MS = 5 * 60 * 1000;

/** One copy target's retry state: 1 s doubling to 5 min after each failure, reset by a success. */
export class Backoff {
	#failures = 0;
	#retryAt = 0;

	get failures(): number {
		return this.#failures;
	}

	get retryAt(): number {
		return this.#retryAt;
	}

	ready(now: number): boolean {
		return now >= this.#retryAt;
	}

	/** Returns the delay until the next try. */
	fail(now: number): number {
		this.#failures += 1;
		const delay = Math.min(FIRST_MS * 2 ** (this.#failures - 1), MAX_MS);
		this.#retryAt = now + delay;
		return delay;
	}

	succeed(): void {
		this.#failures = 0;
		this.#retryAt = 0;
	}
}
