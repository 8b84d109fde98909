/** Nearest-rank percentile of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
	if (samples.length === 0) return Number.NaN;
	const sorted = [...samples].sort((a, b) => a - b);
	const rank = Math.ceil((p / 100) * sorted.length);
	return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1]!;
}

export function median(values: readonly number[]): number {
	return percentile(values, 50);
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across worker threads. */
export function nowMs(): number {
	return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}
