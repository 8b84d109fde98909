/*
 * Callback points summed in the isolate before they are written. Bandwidth sends one event a
 * callback, so a point per callback was a point per event (1.04 a event with the consumer's), each
 * billed. Callbacks whose points would have the same index and blobs (application, type, error
 * code, quarantine path) are one point here, their doubles summed and double6 counting them; the
 * window is written when it holds WINDOW_CALLBACKS callbacks or is WINDOW_MS old at the next
 * metrics write or cron run in this isolate. The price: a point's timestamp is when its window was
 * written (up to WINDOW_MS late while traffic lasts, later when it stops), and the counts of a
 * window its isolate is evicted with are lost.
 */

/** How long the first callback of a window waits at most, while callbacks keep coming. */
export const WINDOW_MS = 30_000;
/** So that a busy isolate writes often enough for a per-minute series. */
export const WINDOW_CALLBACKS = 1000;

interface Group {
	indexes: NonNullable<AnalyticsEngineDataPoint["indexes"]>;
	blobs: NonNullable<AnalyticsEngineDataPoint["blobs"]>;
	doubles: number[];
	callbacks: number;
}

export class CallbackWindow {
	#groups = new Map<string, Group>();
	#callbacks = 0;
	#openedAt: number | null = null;

	/** Adds one callback's point (doubles1..5 as callbackPoint builds them). */
	add(point: AnalyticsEngineDataPoint, now: number): void {
		const indexes = point.indexes ?? [];
		const blobs = point.blobs ?? [];
		const key = JSON.stringify([indexes, blobs]);
		const group = this.#groups.get(key);
		const doubles = point.doubles ?? [];
		if (group === undefined) {
			this.#groups.set(key, { indexes, blobs, doubles: [...doubles], callbacks: 1 });
		} else {
			doubles.forEach((value, index) => {
				group.doubles[index] = (group.doubles[index] ?? 0) + value;
			});
			group.callbacks += 1;
		}
		this.#callbacks += 1;
		this.#openedAt ??= now;
	}

	due(now: number): boolean {
		return this.#openedAt !== null && (this.#callbacks >= WINDOW_CALLBACKS || now - this.#openedAt >= WINDOW_MS);
	}

	/** The window's points (double6: the callbacks each sums), and a new window. */
	take(): AnalyticsEngineDataPoint[] {
		const points = [...this.#groups.values()].map((group) => ({
			indexes: group.indexes,
			blobs: group.blobs,
			doubles: [...group.doubles, group.callbacks],
		}));
		this.#groups = new Map();
		this.#callbacks = 0;
		this.#openedAt = null;
		return points;
	}
}
