/*
 * Bandwidth events nest four levels deep. JSON.parse copes with any depth, but JSON.stringify and
 * structured clone recurse and would throw on a hostile element, so depth is checked first and
 * such an element is quarantined in a truncated form.
 */
export const MAX_ELEMENT_DEPTH = 32;
const TRUNCATED = "[truncated: nested too deep]";

export function nestingExceeds(value: unknown, limit: number): boolean {
	const stack: Array<[unknown, number]> = [[value, 1]];
	for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
		const [node, depth] = item;
		if (depth > limit) return true;
		for (const child of Object.values(node as object)) {
			if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
		}
	}
	return false;
}

export function stringifyTruncated(value: unknown, limit: number): string {
	const walk = (node: unknown, depth: number): unknown => {
		if (typeof node !== "object" || node === null) return node;
		if (depth >= limit) return TRUNCATED;
		if (Array.isArray(node)) return node.map((child) => walk(child, depth + 1));
		return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, walk(child, depth + 1)]));
	};
	return JSON.stringify(walk(value, 0));
}
