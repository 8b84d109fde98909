/*
 * The failures `npm run simulate -- --failures` asks of the local sink, so that dead letters, the
 * breaker, alerts and replay can be seen without editing a file. The simulator marks outbound
 * messages with a tag (Bandwidth forwards a message's `tag` in every status callback, and the relay
 * in `data.tag`); the sink answers each marked event accordingly:
 *
 *   relay-sim:503      503 to the event's first attempt, then 2xx: a retry (5 s later) delivers it
 *   relay-sim:timeout  no answer within the relay's timeout on the first attempt, then 2xx
 *   relay-sim:410      410 to the first attempt: dead at once; a replay then delivers it
 *   relay-sim:outage   the sink is "down" for OUTAGE_MS from the first such event: every event is
 *                      answered 503, the destination's breaker opens, probes, and closes once it ends
 *
 * Unmarked events are answered 2xx as always (outside an outage), and so are marked ones the sink
 * first sees during or in the 5 minutes after an outage. Attempts are counted per webhook-id, in
 * memory: a restarted sink starts counting again.
 */

export const SIMULATED_TAG_PREFIX = "relay-sim:";
export const SIMULATED_MODES = ["503", "timeout", "410", "outage"] as const;
export type SimulatedMode = (typeof SIMULATED_MODES)[number];

/** Long enough for the breaker's first probe (30 s) to fail too, short enough to watch it close. */
export const OUTAGE_MS = 45_000;
/** A new outage starts only this long after the last one ended: released events must not start another. */
const OUTAGE_QUIET_MS = 5 * 60_000;

export interface SimulatedAnswer {
	status: number;
	/** Wait this long before answering (the timeout case). */
	delayMs: number;
	reason: string;
}

export function modeOf(tag: unknown): SimulatedMode | null {
	if (typeof tag !== "string" || !tag.startsWith(SIMULATED_TAG_PREFIX)) return null;
	const mode = tag.slice(SIMULATED_TAG_PREFIX.length);
	return (SIMULATED_MODES as readonly string[]).includes(mode) ? (mode as SimulatedMode) : null;
}

export class SimulatedFailures {
	readonly #seen = new Map<string, number>();
	#outageFrom = 0;
	#outageUntil = 0;

	readonly timeoutMs: number;
	readonly outageMs: number;

	/** `timeoutMs`: the relay's FORWARD_TIMEOUT_MS; a simulated timeout answers a second after it. */
	constructor(timeoutMs = 10_000, outageMs = OUTAGE_MS) {
		this.timeoutMs = timeoutMs;
		this.outageMs = outageMs;
	}

	/** How to answer this attempt; null: as usual (verify and 2xx). */
	answer(webhookId: string, tag: unknown, now = Date.now()): SimulatedAnswer | null {
		const attempt = (this.#seen.get(webhookId) ?? 0) + 1;
		this.#seen.set(webhookId, attempt);
		const mode = modeOf(tag);
		if (mode === "outage" && attempt === 1 && now > this.#outageUntil + OUTAGE_QUIET_MS) {
			this.#outageFrom = now;
			this.#outageUntil = now + this.outageMs;
		}
		if (now >= this.#outageFrom && now < this.#outageUntil) {
			const left = Math.ceil((this.#outageUntil - now) / 1000);
			return { status: 503, delayMs: 0, reason: `simulated outage, ${left} s left` };
		}
		// Held back by the breaker, marked events reach the sink for the first time after the outage:
		// their marks are let go then, or a 410 taken as the breaker's probe would keep it open.
		const sinceOutage = this.#outageUntil > 0 && now < this.#outageUntil + OUTAGE_QUIET_MS;
		if (attempt > 1 || sinceOutage) return null;
		switch (mode) {
			case "503":
				return { status: 503, delayMs: 0, reason: "simulated failure (first attempt)" };
			case "timeout":
				return { status: 204, delayMs: this.timeoutMs + 1000, reason: "simulated timeout (first attempt)" };
			case "410":
				return { status: 410, delayMs: 0, reason: "simulated 410 Gone (first attempt): dead, replay it" };
			default:
				return null;
		}
	}
}
