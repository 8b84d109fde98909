import type { Rng } from "./rng";

/*
 * A fault plan: which calls fail, how, and when. Rules are matched in order against a call's
 * target ("d1.batch", "queue.sendBatch", "r2.archive.put", "do.settle", "fetch.destination", …;
 * `*` matches any run of characters). Whether a probabilistic rule fires is drawn from the rule's
 * own stream of the seed, one draw per matching call, so a plan replays from its seed.
 */

export type FaultKind =
	/** The call fails before it reaches the binding: nothing happened. */
	| "throw"
	/** The call goes through, then the caller sees an error: it happened, but nobody knows. */
	| "throwAfter"
	/** The call hangs for `ms` (real), then fails as a timeout would; nothing happened. */
	| "hang"
	/** The call waits `ms` (real), then goes through. */
	| "slow"
	/** fetch only: an answer with `status`, the request never sent. */
	| "status"
	/** fetch only: a network error, the request never sent. */
	| "network";

export interface FaultRule {
	target: string;
	kind: FaultKind;
	/** Per matching call; with neither this nor `next`, every matching call in the window. */
	probability?: number;
	/** Fail only the next N matching calls. */
	next?: number;
	/** Virtual time window [from, until). */
	from?: number;
	until?: number;
	status?: number;
	ms?: number;
}

export interface FaultEvent {
	at: number;
	target: string;
	kind: FaultKind;
	rule: number;
}

const patternCache = new Map<string, RegExp>();
export function matches(pattern: string, target: string): boolean {
	let regex = patternCache.get(pattern);
	if (regex === undefined) {
		const source = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
		regex = new RegExp(`^${source.join(".*")}$`);
		patternCache.set(pattern, regex);
	}
	return regex.test(target);
}

export class FaultDecider {
	readonly rules: FaultRule[];
	readonly log: FaultEvent[] = [];
	#streams: Rng[];
	#left: Array<number | undefined>;
	#enabled = true;

	constructor(
		rules: readonly FaultRule[],
		rng: Rng,
		private readonly now: () => number,
	) {
		this.rules = [...rules];
		this.#streams = this.rules.map((_, index) => rng.fork(`rule${index}`));
		this.#left = this.rules.map((rule) => rule.next);
	}

	/** Turns every rule off (the end of a run: the world heals) or back on. */
	set enabled(on: boolean) {
		this.#enabled = on;
	}

	get enabled(): boolean {
		return this.#enabled;
	}

	/** Adds a rule while running (a workload step: "D1 refuses writes for the next 5 minutes"). */
	add(rule: FaultRule, rng: Rng): void {
		this.rules.push(rule);
		this.#streams.push(rng.fork(`rule${this.rules.length - 1}`));
		this.#left.push(rule.next);
	}

	/** The rule that fails this call, if any (logged). */
	decide(target: string, kinds?: ReadonlySet<FaultKind>): FaultRule | null {
		if (!this.#enabled) return null;
		const now = this.now();
		for (const [index, rule] of this.rules.entries()) {
			if (kinds !== undefined && !kinds.has(rule.kind)) continue;
			if (!matches(rule.target, target)) continue;
			if (rule.from !== undefined && now < rule.from) continue;
			if (rule.until !== undefined && now >= rule.until) continue;
			const left = this.#left[index];
			if (left !== undefined) {
				if (left <= 0) continue;
				this.#left[index] = left - 1;
			} else if (rule.probability !== undefined && !(this.#streams[index] as Rng).chance(rule.probability)) {
				continue;
			}
			this.log.push({ at: now, target, kind: rule.kind, rule: index });
			return rule;
		}
		return null;
	}
}
