/*
 * The simulation's only source of chance. One seed gives one stream; `fork(label)` derives an
 * independent stream per purpose (workload, faults per binding), so adding a draw in one place
 * never shifts the draws of another, and a failing seed replays the same choices.
 */

/** FNV-1a over a string: a stable 32-bit label hash for forks. */
function hash32(text: string): number {
	let hash = 0x811c9dc5;
	for (let index = 0; index < text.length; index += 1) {
		hash ^= text.charCodeAt(index);
		hash = Math.imul(hash, 0x01000193);
	}
	return hash >>> 0;
}

export class Rng {
	#state: number;
	readonly seed: number;

	constructor(seed: number) {
		this.seed = seed >>> 0;
		this.#state = this.seed || 0x9e3779b9;
	}

	/** mulberry32: small, fast, and good enough to pick workloads and faults. */
	next(): number {
		this.#state = (this.#state + 0x6d2b79f5) >>> 0;
		let t = this.#state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	}

	fork(label: string): Rng {
		return new Rng(Math.imul(this.seed ^ hash32(label), 0x9e3779b1) >>> 0);
	}

	chance(probability: number): boolean {
		return this.next() < probability;
	}

	/** An integer in [min, max]. */
	int(min: number, max: number): number {
		return min + Math.floor(this.next() * (max - min + 1));
	}

	pick<T>(items: readonly T[]): T {
		if (items.length === 0) throw new Error("pick from an empty list");
		return items[Math.floor(this.next() * items.length)] as T;
	}

	/** Picks by weight: `[[item, weight], …]`. */
	weighted<T>(choices: ReadonlyArray<readonly [T, number]>): T {
		const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
		let left = this.next() * total;
		for (const [item, weight] of choices) {
			left -= weight;
			if (left < 0) return item;
		}
		return (choices.at(-1) as readonly [T, number])[0];
	}

	shuffle<T>(items: readonly T[]): T[] {
		const copy = [...items];
		for (let index = copy.length - 1; index > 0; index -= 1) {
			const other = Math.floor(this.next() * (index + 1));
			[copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
		}
		return copy;
	}

	/** A hex id of `length` characters. */
	hex(length: number): string {
		let out = "";
		while (out.length < length) out += Math.floor(this.next() * 16).toString(16);
		return out;
	}
}
