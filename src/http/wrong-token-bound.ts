/*
 * A bound on wrong admin tokens, per client address, per isolate: WRONG_TOKENS_PER_WINDOW wrong
 * tokens within WRONG_TOKEN_WINDOW_MS of the first, then every bearer token from that address —
 * the right one too, or a right guess would stand out — answers 429 until the window ends. So one
 * address gets at most 10 guesses a minute from an isolate.
 *
 * Why this shape: the token's entropy is what stops guessing (`openssl rand -base64 32` is 256
 * bits); the bound stops a guesser from burning CPU, subrequests and log volume, and makes a weak
 * token much slower to find from one address. In memory rather than in a Durable Object or the
 * rate-limit binding: refusing must cost nothing (a storage call per wrong guess would be billed
 * to us), and neither lets a check be made without counting. The price is that a guesser spread
 * over many isolates or Cloudflare locations gets 10 a minute from each. Per address, not for all
 * callers, so that a guesser cannot lock the operator out of the admin API from elsewhere; only
 * someone behind the same address (or IPv6 /64) can.
 */

export const WRONG_TOKENS_PER_WINDOW = 10;
export const WRONG_TOKEN_WINDOW_MS = 60_000;
/** Addresses remembered at once; past this the oldest window is forgotten (about 1 MB of state). */
const MAX_ADDRESSES = 10_000;

interface Window {
	startedAt: number;
	failures: number;
}

export class WrongTokenBound {
	readonly #now: () => number;
	/** In order of their window's start: the first is the oldest. */
	readonly #windows = new Map<string, Window>();

	constructor(now: () => number = Date.now) {
		this.#now = now;
	}

	/** Seconds until `key` may try again, or null when it may now. */
	retryAfterSeconds(key: string): number | null {
		const now = this.#now();
		const window = this.#current(key, now);
		if (window === undefined || window.failures < WRONG_TOKENS_PER_WINDOW) return null;
		return Math.max(1, Math.ceil((window.startedAt + WRONG_TOKEN_WINDOW_MS - now) / 1000));
	}

	/** Records a wrong token from `key`. */
	fail(key: string): void {
		const now = this.#now();
		let window = this.#current(key, now);
		if (window === undefined) {
			window = { startedAt: now, failures: 0 };
			if (this.#windows.size >= MAX_ADDRESSES) {
				const oldest = this.#windows.keys().next().value;
				if (oldest !== undefined) this.#windows.delete(oldest);
			}
			this.#windows.set(key, window);
		}
		window.failures += 1;
	}

	#current(key: string, now: number): Window | undefined {
		const window = this.#windows.get(key);
		if (window !== undefined && now - window.startedAt >= WRONG_TOKEN_WINDOW_MS) {
			this.#windows.delete(key);
			return undefined;
		}
		return window;
	}
}
