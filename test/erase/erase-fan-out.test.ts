import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { allLedgerNames } from "../../src/ledger/ledger-client";
import { adminPost } from "../helpers/admin";
import { aroundMethod } from "../helpers/binding-faults";
import { freshNumber } from "./support";

/*
 * An erasure asks the ledgers side by side; when one fails, the call answers 503 only once the
 * others have answered too. Answering earlier left their calls behind: workerd drops an ended
 * request's continuations, and the retried erasure met them still at work (fault simulation,
 * seed 27016, where the harness saw a ledger call that never came back).
 */

type Callable = (...args: unknown[]) => Promise<unknown>;

it("a number erasure failing at one ledger answers 503 only after every ledger it asked has answered", async () => {
	const [failing, slow] = allLedgerNames(env);
	const answered: string[] = [];
	aroundMethod(env.MESSAGE_LEDGER, "getByName", (call, args) => {
		const name = String(args[0]);
		const stub = call() as object;
		return new Proxy(stub, {
			get(target, property) {
				const value = Reflect.get(target, property) as unknown;
				if (property !== "eraseNumberPending") return value;
				return async (...callArgs: unknown[]) => {
					if (name === failing) throw new Error("Durable Object reset because its code was updated (test)");
					if (name === slow) await new Promise((resolve) => setTimeout(resolve, 300));
					const answer = await Reflect.apply(value as Callable, target, callArgs);
					answered.push(name);
					return answer;
				};
			},
		});
	});

	const response = await adminPost("/v1/erase", { phoneNumber: freshNumber() });
	expect(response.status).toBe(503);
	expect(await response.json()).toMatchObject({ error: { code: "erasure_failed" } });
	// The slow ledger, and every other one asked beside the failing one, had answered by then.
	expect(answered).toContain(slow);
	expect(answered.length).toBeGreaterThanOrEqual(Math.min(allLedgerNames(env).length, 6) - 1);
});
