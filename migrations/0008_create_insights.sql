-- 0008: deliverability insights (README "Insights").
--
-- Counts per (message, recipient) are decided once, in the ledger that accepts each event
-- (src/insights/facts.ts), kept in the ledger's memory, and added here by the cron once a minute
-- for every ledger at once (src/insights/record-insights.ts): a few rows written per minute, none
-- per event. Each table is keyed so that a minute's batch adds to its rows (upsert), and every
-- statement of that batch is guarded by insight_marks, so a batch written twice counts once.

-- Per UTC hour of the messages' send time (message.time; a receipt that comes later, up to 73 h
-- for Bandwidth, is counted in its message's hour), application and Bandwidth number.
CREATE TABLE insight_hours (
  hour TEXT NOT NULL,                 -- "2026-12-01T09"
  application_id TEXT NOT NULL,       -- "" when the event had none
  owner TEXT NOT NULL,                -- the Bandwidth number: message.from outbound, message.owner inbound
  sent INTEGER NOT NULL DEFAULT 0,    -- recipients that reached message-sending or -sent (or delivered without either)
  delivered INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  received_sms INTEGER NOT NULL DEFAULT 0,
  received_mms INTEGER NOT NULL DEFAULT 0,
  -- Send-to-delivery latency, a histogram in 64 log-spaced bins (src/insights/latency-sketch.ts):
  -- added on upsert, summed across hours and keys, p50/p95 read from the merged bins.
  l00 INTEGER NOT NULL DEFAULT 0,
  l01 INTEGER NOT NULL DEFAULT 0,
  l02 INTEGER NOT NULL DEFAULT 0,
  l03 INTEGER NOT NULL DEFAULT 0,
  l04 INTEGER NOT NULL DEFAULT 0,
  l05 INTEGER NOT NULL DEFAULT 0,
  l06 INTEGER NOT NULL DEFAULT 0,
  l07 INTEGER NOT NULL DEFAULT 0,
  l08 INTEGER NOT NULL DEFAULT 0,
  l09 INTEGER NOT NULL DEFAULT 0,
  l10 INTEGER NOT NULL DEFAULT 0,
  l11 INTEGER NOT NULL DEFAULT 0,
  l12 INTEGER NOT NULL DEFAULT 0,
  l13 INTEGER NOT NULL DEFAULT 0,
  l14 INTEGER NOT NULL DEFAULT 0,
  l15 INTEGER NOT NULL DEFAULT 0,
  l16 INTEGER NOT NULL DEFAULT 0,
  l17 INTEGER NOT NULL DEFAULT 0,
  l18 INTEGER NOT NULL DEFAULT 0,
  l19 INTEGER NOT NULL DEFAULT 0,
  l20 INTEGER NOT NULL DEFAULT 0,
  l21 INTEGER NOT NULL DEFAULT 0,
  l22 INTEGER NOT NULL DEFAULT 0,
  l23 INTEGER NOT NULL DEFAULT 0,
  l24 INTEGER NOT NULL DEFAULT 0,
  l25 INTEGER NOT NULL DEFAULT 0,
  l26 INTEGER NOT NULL DEFAULT 0,
  l27 INTEGER NOT NULL DEFAULT 0,
  l28 INTEGER NOT NULL DEFAULT 0,
  l29 INTEGER NOT NULL DEFAULT 0,
  l30 INTEGER NOT NULL DEFAULT 0,
  l31 INTEGER NOT NULL DEFAULT 0,
  l32 INTEGER NOT NULL DEFAULT 0,
  l33 INTEGER NOT NULL DEFAULT 0,
  l34 INTEGER NOT NULL DEFAULT 0,
  l35 INTEGER NOT NULL DEFAULT 0,
  l36 INTEGER NOT NULL DEFAULT 0,
  l37 INTEGER NOT NULL DEFAULT 0,
  l38 INTEGER NOT NULL DEFAULT 0,
  l39 INTEGER NOT NULL DEFAULT 0,
  l40 INTEGER NOT NULL DEFAULT 0,
  l41 INTEGER NOT NULL DEFAULT 0,
  l42 INTEGER NOT NULL DEFAULT 0,
  l43 INTEGER NOT NULL DEFAULT 0,
  l44 INTEGER NOT NULL DEFAULT 0,
  l45 INTEGER NOT NULL DEFAULT 0,
  l46 INTEGER NOT NULL DEFAULT 0,
  l47 INTEGER NOT NULL DEFAULT 0,
  l48 INTEGER NOT NULL DEFAULT 0,
  l49 INTEGER NOT NULL DEFAULT 0,
  l50 INTEGER NOT NULL DEFAULT 0,
  l51 INTEGER NOT NULL DEFAULT 0,
  l52 INTEGER NOT NULL DEFAULT 0,
  l53 INTEGER NOT NULL DEFAULT 0,
  l54 INTEGER NOT NULL DEFAULT 0,
  l55 INTEGER NOT NULL DEFAULT 0,
  l56 INTEGER NOT NULL DEFAULT 0,
  l57 INTEGER NOT NULL DEFAULT 0,
  l58 INTEGER NOT NULL DEFAULT 0,
  l59 INTEGER NOT NULL DEFAULT 0,
  l60 INTEGER NOT NULL DEFAULT 0,
  l61 INTEGER NOT NULL DEFAULT 0,
  l62 INTEGER NOT NULL DEFAULT 0,
  l63 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, application_id, owner)
) WITHOUT ROWID;

-- Failures per error code (0: a message-failed without one), same key.
CREATE TABLE insight_errors (
  hour TEXT NOT NULL,
  application_id TEXT NOT NULL,
  owner TEXT NOT NULL,
  code INTEGER NOT NULL,
  count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, application_id, owner, code)
) WITHOUT ROWID;

-- Receipts by the minute the cron counted them, for the deliverability alerts' 15-minute window;
-- kept two hours.
CREATE TABLE insight_minutes (
  minute INTEGER NOT NULL,            -- epoch minutes
  application_id TEXT NOT NULL,
  owner TEXT NOT NULL,
  delivered INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (minute, application_id, owner)
) WITHOUT ROWID;

CREATE TABLE insight_minute_errors (
  minute INTEGER NOT NULL,
  application_id TEXT NOT NULL,
  owner TEXT NOT NULL,
  code INTEGER NOT NULL,
  count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (minute, application_id, owner, code)
) WITHOUT ROWID;

-- How far each ledger's counts are in: `marks` maps a ledger's name to the accept time (epoch
-- ms) through which its events are counted. A batch first moves `version` on, only if it is
-- still the one the batch read, and names itself in `run`; its other statements write only while
-- `run` is theirs. Two overlapping cron runs therefore never both count a minute.
CREATE TABLE insight_marks (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL,
  run TEXT NOT NULL,
  marks TEXT NOT NULL
);
INSERT INTO insight_marks (id, version, run, marks) VALUES (1, 0, '', '{}');

-- Deliverability incidents open now, one per application or number: the alert desk is told when
-- one opens (relay.deliverability.degraded) and when it closes (relay.deliverability.recovered).
CREATE TABLE insight_incidents (
  subject TEXT NOT NULL PRIMARY KEY,  -- "application:<id>" or "number:<+1…>"
  opened_at TEXT NOT NULL,
  data TEXT NOT NULL                  -- the degraded alert's data, JSON
) WITHOUT ROWID;
