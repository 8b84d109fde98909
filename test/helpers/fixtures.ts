/*
 * Bandwidth's documented payloads (copied from ../shared/bandwidth/samples) and small factories
 * over them. Tests share storage within a file, so every test gives its events fresh message ids.
 */
const jsonFiles = import.meta.glob<unknown>("../fixtures/bandwidth/*.json", { eager: true, import: "default" });
const textFiles = import.meta.glob<string>("../fixtures/bandwidth/*.txt", {
	eager: true,
	query: "?raw",
	import: "default",
});

const basename = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/** Every valid sample by file name, deep-copied on each read. */
export const SAMPLE_NAMES = Object.keys(jsonFiles).map(basename).sort();

export function sample(name: string): unknown {
	const entry = Object.entries(jsonFiles).find(([path]) => basename(path) === name);
	if (entry === undefined) throw new Error(`no sample ${name}`);
	return structuredClone(entry[1]);
}

export function rawSample(name: string): string {
	const entry = Object.entries(textFiles).find(([path]) => basename(path) === name);
	if (entry === undefined) throw new Error(`no raw sample ${name}`);
	return entry[1];
}

export type BandwidthElement = {
	type: string;
	time: string;
	to: string;
	description?: string;
	errorCode?: number;
	message: { id: string; to: string[]; owner: string; from: string; direction: string; [key: string]: unknown };
	[key: string]: unknown;
};

/** The elements of a sample, whether it is the wire array or the spec's bare object. */
export function elementsOf(name: string): BandwidthElement[] {
	const value = sample(name);
	return (Array.isArray(value) ? value : [value]) as BandwidthElement[];
}

let counter = 0;
/** Shaped like Bandwidth's: 13-digit epoch milliseconds + 16 lowercase alphanumerics. */
export function newMessageId(): string {
	counter += 1;
	const suffix = `${counter.toString(36)}${crypto.randomUUID().replaceAll("-", "")}`.slice(0, 16);
	return `${Date.now()}${suffix.padEnd(16, "0")}`;
}

/** One element of a sample with a fresh message id and any overrides. */
export function element(
	name: string,
	overrides: { messageId?: string; type?: string; to?: string; time?: string; message?: Record<string, unknown> } = {},
): BandwidthElement {
	const [first] = elementsOf(name);
	if (first === undefined) throw new Error(`${name} has no element`);
	const copy: BandwidthElement = {
		...first,
		...(overrides.type === undefined ? {} : { type: overrides.type }),
		...(overrides.to === undefined ? {} : { to: overrides.to }),
		...(overrides.time === undefined ? {} : { time: overrides.time }),
	};
	copy.message = { ...first.message, ...overrides.message, id: overrides.messageId ?? newMessageId() };
	return copy;
}
