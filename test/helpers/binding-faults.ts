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

/**
 * Holds calls until released; `entered` resolves when the first one arrives.
 *
 * No promise crosses a request context: each side polls a shared flag with its own timer. The
 * held call runs in another context (a Durable Object's alarm, the Worker's fetch), and workerd
 * runs the continuations of a promise resolved from another context in the context that made it,
 * or cancels them if that one has ended. A gate made of promises let a handler's tail, or the
 * test's, run in the wrong context, and a full run hung now and then at the end of
 * test/erase/erase-in-flight.test.ts, with Vitest's own timeout never firing.
 */
export function gate(): { readonly entered: Promise<void>; wait(): Promise<void>; release(): void } {
	let entered = false;
	let open = false;
	const until = async (flag: () => boolean) => {
		while (!flag()) await new Promise((resolve) => setTimeout(resolve, 5));
	};
	return {
		get entered() {
			return until(() => entered);
		},
		wait() {
			entered = true;
			return until(() => open);
		},
		release: () => {
			open = true;
		},
	};
}

/** The first D1 batch (on `db`) with a statement whose SQL `matches` fails, as a failing database would; later ones run. */
export function failD1BatchOnce(db: D1Database, matches: (sql: string) => boolean): void {
	let failures = 1;
	aroundMethod(db, "batch", (call, args) => {
		const statements = args[0] as Array<{ statement?: string }>;
		if (failures > 0 && statements.some((statement) => matches(String(statement.statement ?? "")))) {
			failures -= 1;
			return Promise.reject(new Error("D1_ERROR: simulated"));
		}
		return call();
	});
}
