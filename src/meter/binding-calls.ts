/*
 * Every binding call the metered wrappers pass on, by kind ("d1.statement", "queue.sendBatch",
 * "r2.put", …), counted before the call. The fault simulation counts the same calls at the
 * bindings' own classes: the two agree only if no code path reaches a binding around the meter.
 * One Map increment per call; nothing reads it in production.
 */
const calls = new Map<string, number>();

export const bindingCalls = {
	add(kind: string): void {
		calls.set(kind, (calls.get(kind) ?? 0) + 1);
	},
	snapshot(): Record<string, number> {
		return Object.fromEntries(calls);
	},
};
