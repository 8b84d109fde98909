import { onTestFinished } from "vitest";

/*
 * A fault at a binding's own boundary, for one test: the method of the binding's class is wrapped
 * for calls on this binding (the Worker, its Durable Objects and the test share one isolate and
 * one binding object, so every caller is reached), and put back when the test ends. The binding itself stays real. The fault simulation (test/sim) does
 * the same for every method at once.
 */

type Call = (this: unknown, ...args: unknown[]) => unknown;

export function aroundMethod(
	binding: object,
	method: string,
	around: (call: () => unknown, args: unknown[]) => unknown,
): () => void {
	const proto = Object.getPrototypeOf(binding) as Record<string, Call>;
	const original = proto[method] as Call;
	proto[method] = function (this: unknown, ...args: unknown[]) {
		// Only this binding: another test file running beside this one keeps its own calls.
		if (this !== binding) return original.apply(this, args);
		return around(() => original.apply(this, args), args);
	};
	const restore = () => {
		proto[method] = original;
	};
	onTestFinished(restore);
	return restore;
}

/** Holds calls until released; `entered` resolves when the first one arrives. */
export function gate(): { entered: Promise<void>; wait(): Promise<void>; release(): void } {
	let enter: () => void = () => {};
	let open: () => void = () => {};
	const entered = new Promise<void>((resolve) => {
		enter = resolve;
	});
	const opened = new Promise<void>((resolve) => {
		open = resolve;
	});
	return {
		entered,
		wait() {
			enter();
			return opened;
		},
		release: () => open(),
	};
}
