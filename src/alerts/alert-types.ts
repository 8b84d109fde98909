/*
 * Operational alerts (README "Alerts"): what the relay tells the operator, at most once per
 * incident. Each type has a window: raises within it are counted into the next alert, never sent
 * one by one, and a storm of dead events is one alert with a count and a few ids.
 */

export const ALERT_TYPES = [
	"relay.event.dead",
	"relay.storage.near_budget",
	"relay.outbox.stalled",
	"relay.archive.failing",
	"relay.destination.failing",
	"relay.destination.paused",
	"relay.destination.recovered",
	"relay.deliverability.degraded",
	"relay.deliverability.recovered",
] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

export interface AlertPolicy {
	/** A first raise waits this long for more of the same before it is sent. */
	gatherMs: number;
	/** After an alert of a key is sent, the next waits at least this long. */
	windowMs: number;
}

const MINUTE_MS = 60_000;

export const ALERT_POLICIES: Record<AlertType, AlertPolicy> = {
	"relay.event.dead": { gatherMs: 30_000, windowMs: 15 * MINUTE_MS },
	"relay.storage.near_budget": { gatherMs: 0, windowMs: 6 * 60 * MINUTE_MS },
	"relay.outbox.stalled": { gatherMs: 0, windowMs: 60 * MINUTE_MS },
	// Events wait in the ledgers (and in D1) until their hour is written: nothing is lost, but a
	// long R2 outage holds back retention and forgetting, so say so once an hour while it lasts.
	"relay.archive.failing": { gatherMs: 0, windowMs: 60 * MINUTE_MS },
	// A destination's changes are told as they happen, each kind at most once per window: a
	// breaker that flaps opens many times but alerts once per 15 minutes with the count.
	"relay.destination.failing": { gatherMs: 0, windowMs: 15 * MINUTE_MS },
	"relay.destination.paused": { gatherMs: 0, windowMs: 15 * MINUTE_MS },
	"relay.destination.recovered": { gatherMs: 0, windowMs: 15 * MINUTE_MS },
	// An application's or a number's delivery: each incident opens and closes once
	// (src/insights/deliverability-alerts.ts); one that flaps is told at most every 15 minutes.
	"relay.deliverability.degraded": { gatherMs: 0, windowMs: 15 * MINUTE_MS },
	"relay.deliverability.recovered": { gatherMs: 0, windowMs: 15 * MINUTE_MS },
};

/** What a part of the relay reports; the desk aggregates raises of one (type, key). */
export interface RaisedAlert {
	type: AlertType;
	/** What the alert is about, e.g. the destination, "d1", "outbox"; one alert per key per window. */
	key: string;
	/** How many occurrences this raise stands for (dead events in one consumer batch, say). */
	count: number;
	/** The latest details; replaces the previous raise's. */
	data: Record<string, unknown>;
	/** A few ids to look at (event ids); the alert carries at most MAX_SAMPLE_IDS. */
	ids?: string[];
}

export const MAX_SAMPLE_IDS = 10;
