import { afterEach, expect, it, vi } from "vitest";
import { REJECTION_LOG_INTERVAL_MS, RejectionCounter } from "../../src/http/rejection-counter";

afterEach(() => {
	vi.restoreAllMocks();
});

function linesOf(spy: { mock: { calls: unknown[][] } }): Array<Record<string, unknown>> {
	return spy.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
}

it("logs the first refusal at once, then at most one count a minute", () => {
	const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
	let now = 1_000_000;
	const counter = new RejectionCounter("callback_unauthorized_total", () => now);

	counter.count();
	expect(linesOf(warn)).toEqual([{ level: "warn", event: "callback_unauthorized_total", count: 1, since: null }]);

	for (let i = 0; i < 500; i += 1) {
		now += 100;
		counter.count();
	}
	expect(warn).toHaveBeenCalledTimes(1);

	now = 1_000_000 + REJECTION_LOG_INTERVAL_MS;
	counter.count({ ip: "203.0.113.9" });
	expect(linesOf(warn)[1]).toEqual({
		level: "warn",
		event: "callback_unauthorized_total",
		count: 501,
		since: new Date(1_000_000).toISOString(),
		ip: "203.0.113.9",
	});
});
