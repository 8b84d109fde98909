/*
 * Send-to-delivery latency as a mergeable sketch: a histogram over fixed, log-spaced bins. Bins
 * are columns of insight_hours (l00…l63), added on upsert, so any set of hours, applications and
 * numbers merges by summing columns, in SQL, without reading one event back.
 *
 * Bin 0 holds [0, 250 ms); bin i (1…62) holds [250·2^((i-1)/3), 250·2^(i/3)) ms, each a third of
 * an octave wide; bin 63 holds everything from 250·2^(62/3) ms (about 116 h, past Bandwidth's 73 h
 * receipts) on. A percentile is reported as its bin's geometric middle in whole milliseconds, so it
 * is within 12.2 % (2^(1/6) − 1) of the exact nearest-rank percentile, plus half a millisecond of
 * rounding; below 250 ms it is reported as 125 ms (within 125 ms), and in the last bin as the bin's
 * lower bound.
 */

export const LATENCY_BINS = 64;
const BASE_MS = 250;
const BINS_PER_OCTAVE = 3;

export const LATENCY_COLUMNS: readonly string[] = Array.from(
	{ length: LATENCY_BINS },
	(_, bin) => `l${String(bin).padStart(2, "0")}`,
);

/** Lower bound of bin `bin` in ms (bin ≥ 1). */
function lowerBound(bin: number): number {
	return BASE_MS * 2 ** ((bin - 1) / BINS_PER_OCTAVE);
}

export function binOf(latencyMs: number): number {
	if (!(latencyMs >= BASE_MS)) return 0;
	const bin = Math.floor(Math.log2(latencyMs / BASE_MS) * BINS_PER_OCTAVE) + 1;
	// Floating point can land a value that sits exactly on a bound one bin low or high.
	const fixed = latencyMs < lowerBound(bin) ? bin - 1 : latencyMs >= lowerBound(bin + 1) ? bin + 1 : bin;
	return Math.min(LATENCY_BINS - 1, fixed);
}

/** The value a percentile that falls in `bin` is reported as. */
export function representative(bin: number): number {
	if (bin <= 0) return BASE_MS / 2;
	if (bin >= LATENCY_BINS - 1) return Math.round(lowerBound(LATENCY_BINS - 1));
	return Math.round(lowerBound(bin) * 2 ** (1 / (2 * BINS_PER_OCTAVE)));
}

export function emptyBins(): number[] {
	return new Array<number>(LATENCY_BINS).fill(0);
}

/** Adds `from` into `into`, bin by bin. */
export function addBins(into: number[], from: readonly number[]): void {
	for (let bin = 0; bin < LATENCY_BINS; bin++) into[bin] = (into[bin] ?? 0) + (from[bin] ?? 0);
}

/**
 * The nearest-rank percentile (the smallest value with at least `quantile` of the samples at or
 * below it), as its bin's representative; null without samples.
 */
export function percentileOf(bins: readonly number[], quantile: number): number | null {
	const total = bins.reduce((sum, count) => sum + count, 0);
	if (total === 0) return null;
	const rank = Math.max(1, Math.ceil(quantile * total));
	let seen = 0;
	for (let bin = 0; bin < LATENCY_BINS; bin++) {
		seen += bins[bin] ?? 0;
		if (seen >= rank) return representative(bin);
	}
	return representative(LATENCY_BINS - 1);
}
