/** A share of a Limit, held until released. */
export interface Permit {
	readonly weight: number;
	/**
	 * Corrects a held estimate once the real weight is known. Never waits: two holders each waiting
	 * for room to grow could wait on each other forever. An estimate should be the most the weight
	 * can be, so growing is the exception, and it only delays the waiters.
	 */
	resize(weight: number): void;
	/** Idempotent, so a `finally` may release what was already released. */
	release(): void;
}

/**
 * A first-come, first-served semaphore weighted in any unit (attempts, bytes). In order, so that a
 * large holder waiting for room is not overtaken forever by small ones; one larger than the whole
 * capacity is let in once nothing else is held: it goes alone, not never.
 */
export class Limit {
	#used = 0;
	readonly #waiting: Array<{ weight: number; admit: () => void }> = [];

	constructor(readonly capacity: number) {}

	/** Held now; above the capacity only while an oversized holder is alone or a permit grew. */
	get used(): number {
		return this.#used;
	}

	async acquire(weight: number): Promise<Permit> {
		if (this.#waiting.length === 0 && this.#fits(weight)) this.#used += weight;
		else await new Promise<void>((admit) => this.#waiting.push({ weight, admit }));
		return this.#permit(weight);
	}

	/** Runs `work` while holding `weight`, released however it ends. */
	async run<T>(weight: number, work: (permit: Permit) => Promise<T>): Promise<T> {
		const permit = await this.acquire(weight);
		try {
			return await work(permit);
		} finally {
			permit.release();
		}
	}

	#permit(initial: number): Permit {
		let weight = initial;
		let released = false;
		const limit = this;
		return {
			get weight() {
				return weight;
			},
			resize(next) {
				if (released) return;
				limit.#adjust(next - weight);
				weight = next;
			},
			release() {
				if (released) return;
				released = true;
				limit.#adjust(-weight);
			},
		};
	}

	/** Room freed goes to the waiters in order, as far as it reaches. */
	#adjust(delta: number): void {
		this.#used += delta;
		for (let next = this.#waiting[0]; next !== undefined && this.#fits(next.weight); next = this.#waiting[0]) {
			this.#waiting.shift();
			this.#used += next.weight;
			next.admit();
		}
	}

	#fits(weight: number): boolean {
		return this.#used === 0 || this.#used + weight <= this.capacity;
	}
}
