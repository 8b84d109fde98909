import { type Child, formatTime, h } from "./dom";
import { answerText, httpText } from "./names";
import type { DeliveryState, Destination } from "./types";

/*
 * States in words: what a destination is doing and where a delivery stands, as on-call would say
 * them ("not sending: breaker open, next probe at …"), never a bare "open".
 */

export type Tone = "good" | "warn" | "bad" | "";

const clock = (iso: string) => `${iso.slice(11, 19)} UTC`;

export function destinationState(d: Destination, now = Date.now()): { words: string; tone: Tone } {
	if (d.breaker === null) return { words: "unknown: its gate did not answer", tone: "" };
	if (d.paused) {
		const since = d.pausedAt === null ? "" : ` since ${d.pausedAt.slice(0, 10)} ${clock(d.pausedAt)}`;
		return { words: `not sending: paused by an operator${since}`, tone: "bad" };
	}
	if (d.breaker === "open") {
		const due = d.nextProbeAt === null || Date.parse(d.nextProbeAt) <= now;
		const probe = due ? "probing with the next event" : `next probe at ${clock(d.nextProbeAt as string)}`;
		return { words: `not sending: breaker open, ${probe}`, tone: "bad" };
	}
	if (d.breaker === "half-open") return { words: "probing: one event is out to test it", tone: "warn" };
	if ((d.consecutiveFailures ?? 0) > 0) {
		return { words: `sending, but the last ${d.consecutiveFailures} attempts failed`, tone: "warn" };
	}
	return { words: "sending", tone: "good" };
}

const HOLDS: Record<NonNullable<DeliveryState["hold"]>["reason"], string> = {
	paused: "the destination is paused by an operator",
	breaker: "the destination's breaker is open",
	rate: "its rate limit; back within seconds",
	concurrency: "its concurrency limit; back within seconds",
};

/** Why a delivery waits, or what became of it, in one line. */
export function deliveryStateLine(state: DeliveryState): Child[] {
	const last = state.last;
	switch (state.state) {
		case "delivered":
			return [
				h("span", { class: "outcome delivered" }, "delivered"),
				" ",
				last === null ? "" : formatTime(last.at),
				` · ${httpText(last?.httpStatus)} · attempt ${last?.attempt ?? 1}`,
			];
		case "skipped":
			return [h("span", { class: "outcome skipped" }, "skipped"), `: ${last?.error ?? "no destination"}`];
		case "dead":
			return [
				h("span", { class: "outcome dead" }, "dead"),
				` after attempt ${last?.attempt ?? "?"}: ${httpText(last?.httpStatus)} ${answerText(last?.error ?? null)}`,
			];
		case "retrying":
			return [
				h("span", { class: "outcome failed" }, "retrying"),
				`: attempt ${last?.attempt ?? "?"} got ${httpText(last?.httpStatus)}`,
				state.nextAttemptAt === null ? "" : "; next try at ",
				state.nextAttemptAt === null ? "" : formatTime(state.nextAttemptAt),
			];
		case "held": {
			const hold = state.hold;
			const probe =
				hold?.reason === "breaker" && hold.nextProbeAt !== null ? `, next probe at ${clock(hold.nextProbeAt)}` : "";
			return [
				h("span", { class: "outcome held" }, "held"),
				`: ${hold === null ? "by its gate" : HOLDS[hold.reason]}${probe}`,
				hold === null ? "" : " (since ",
				hold === null ? "" : formatTime(hold.since),
				hold === null ? "" : ")",
			];
		}
		case "queued":
			return [
				h("span", { class: "outcome queued" }, "queued"),
				last?.outcome === "replayed" ? ": replayed, waiting for the consumer" : ": not attempted yet",
			];
	}
}

/** Settled: nothing more will happen without a replay. */
export const settled = (state: DeliveryState) =>
	state.state === "delivered" || state.state === "dead" || state.state === "skipped";
