import { expect, it } from "vitest";
import { WRONG_TOKEN_WINDOW_MS, WRONG_TOKENS_PER_WINDOW, WrongTokenBound } from "../../src/http/wrong-token-bound";

it("refuses an address after ten wrong tokens, until a minute after its first, then lets it try again", () => {
	let now = 1_000_000;
	const bound = new WrongTokenBound(() => now);
	for (let i = 0; i < WRONG_TOKENS_PER_WINDOW; i += 1) {
		expect(bound.retryAfterSeconds("ip4:a")).toBeNull();
		bound.fail("ip4:a");
		now += 1000;
	}
	expect(bound.retryAfterSeconds("ip4:a")).toBe(50);
	expect(bound.retryAfterSeconds("ip4:b")).toBeNull();
	now = 1_000_000 + WRONG_TOKEN_WINDOW_MS - 1;
	expect(bound.retryAfterSeconds("ip4:a")).toBe(1);
	now = 1_000_000 + WRONG_TOKEN_WINDOW_MS;
	expect(bound.retryAfterSeconds("ip4:a")).toBeNull();
	// A new window: ten more, not one.
	for (let i = 0; i < WRONG_TOKENS_PER_WINDOW - 1; i += 1) bound.fail("ip4:a");
	expect(bound.retryAfterSeconds("ip4:a")).toBeNull();
	bound.fail("ip4:a");
	expect(bound.retryAfterSeconds("ip4:a")).toBe(60);
});

it("remembers a bounded number of addresses, forgetting the oldest window first", () => {
	const bound = new WrongTokenBound(() => 0);
	for (let i = 0; i < WRONG_TOKENS_PER_WINDOW; i += 1) bound.fail("first");
	for (let i = 0; i < 10_000; i += 1) bound.fail(`other-${i}`);
	expect(bound.retryAfterSeconds("first")).toBeNull();
	for (let i = 0; i < WRONG_TOKENS_PER_WINDOW - 1; i += 1) bound.fail("other-9999");
	expect(bound.retryAfterSeconds("other-9999")).toBe(60);
});
