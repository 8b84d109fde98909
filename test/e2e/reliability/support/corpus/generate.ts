import { createRandom } from "../../../../../scripts/simulate/random.ts";
import { ElementFactory } from "./elements.ts";
import { fieldCases } from "./field-cases.ts";
import { hostileCases } from "./hostile-cases.ts";
import type { CorpusCase } from "./model.ts";
import { syntaxCases } from "./syntax-cases.ts";
import { transportCases } from "./transport-cases.ts";

export interface CorpusOptions {
	/** Message ids, filler and the sampled wrong types derive from it: one seed, one corpus. */
	seed: number;
	/** The MAX_BODY_BYTES the relay runs with; the size cases sit just under and over it. */
	maxBodyBytes: number;
}

export function generateCorpus(options: CorpusOptions): CorpusCase[] {
	const factory = new ElementFactory(createRandom(options.seed));
	const cases = [
		...fieldCases(factory),
		...syntaxCases(factory),
		...transportCases(factory, options.maxBodyBytes),
		...hostileCases(factory, options.maxBodyBytes),
	];
	const names = new Set<string>();
	for (const { name } of cases) {
		if (names.has(name)) throw new Error(`two corpus cases are named ${name}`);
		names.add(name);
	}
	return cases;
}
