/** Cloudflare Queues delays a retry by at most 12 hours. */
const QUEUE_MAX_DELAY_SECONDS = 12 * 60 * 60;
const JITTER = 0.2;

/**
 * ±20 % jitter, derived from the event id and attempt rather than Math.random: events failing
 * together still spread out, and a given retry's delay is reproducible in tests and logs.
 */
export function jitterFactor(eventId: string, attempt: number): number {
	let hash = 0x811c9dc5;
	for (const char of `${eventId}#${attempt}`) {
		hash ^= char.charCodeAt(0);
		hash = Math.imul(hash, 0x01000193);
	}
	return 1 - JITTER + (2 * JITTER * (hash >>> 0)) / 0xffffffff;
}

/**
 * The delay before the next attempt after attempt number `attempt` (1-based) failed, or null when
 * the schedule is spent. Retry-After is a floor, honoured up to the following step of the schedule.
 */
export function retryDelaySeconds(
	schedule: readonly number[],
	eventId: string,
	attempt: number,
	retryAfterSeconds: number | null,
): number | null {
	const step = schedule[attempt - 1];
	if (step === undefined) return null;
	let delay = Math.round(step * jitterFactor(eventId, attempt));
	if (retryAfterSeconds !== null && retryAfterSeconds > delay) {
		const ceiling = Math.max(schedule[attempt] ?? step, delay);
		delay = Math.min(retryAfterSeconds, ceiling);
	}
	return Math.min(Math.max(delay, 0), QUEUE_MAX_DELAY_SECONDS);
}

/** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
	if (value === null) return null;
	const trimmed = value.trim();
	if (/^\d+$/.test(trimmed)) return Number(trimmed);
	const at = Date.parse(trimmed);
	return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}
