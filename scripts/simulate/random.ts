/** A seeded generator (mulberry32): the same seed plans the same traffic. */
export interface Random {
	/** Uniform in [0, 1). */
	next(): number;
	/** Integer in [min, max]. */
	int(min: number, max: number): number;
	chance(probability: number): boolean;
	pick<T>(items: readonly T[]): T;
	/** `length` characters from `alphabet`. */
	chars(length: number, alphabet: string): string;
}

export function createRandom(seed: number): Random {
	let state = seed >>> 0;
	const next = () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
	return {
		next,
		int,
		chance: (probability) => next() < probability,
		pick: (items) => {
			if (items.length === 0) throw new Error("pick from an empty list");
			return items[int(0, items.length - 1)] as (typeof items)[number];
		},
		chars: (length, alphabet) => {
			let out = "";
			for (let i = 0; i < length; i++) out += alphabet[int(0, alphabet.length - 1)];
			return out;
		},
	};
}
