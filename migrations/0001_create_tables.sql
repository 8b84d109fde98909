-- bandwidth-relay D1 schema. Event rows are written by the MessageLedger drain (idempotent on id),
-- quarantine rows by the callback route, deliveries by the queue consumer. Times are UTC ISO 8601
-- with milliseconds, so they sort as text.

CREATE TABLE events (
  id TEXT PRIMARY KEY,                -- evt_…, also the CloudEvents id and the webhook-id
  message_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,          -- per message, assigned by its ledger
  type TEXT NOT NULL,                 -- normalized: bandwidth.message.delivered, …
  direction TEXT,                     -- inbound | outbound; NULL only for an unknown type without one
  recipient TEXT NOT NULL,            -- envelope `to`: the number this event is about
  from_number TEXT,
  owner TEXT,
  application_id TEXT,
  error_code INTEGER,
  event_time TEXT NOT NULL,
  received_at TEXT NOT NULL,
  status TEXT,                        -- what the event says about the recipient; NULL for an unknown type
  status_rank INTEGER,                -- received, sending 1 · sent 2 · delivered, failed 3 · read 4
  normalized_json TEXT NOT NULL,      -- the CloudEvent, byte for byte what is forwarded
  -- The original element lives inside the CloudEvent (data.bandwidth); storing it twice would
  -- double the row and push large inbound texts past D1's row size limit.
  raw_json TEXT GENERATED ALWAYS AS (json_extract(normalized_json, '$.data.bandwidth')) VIRTUAL
);
CREATE INDEX events_message_sequence ON events (message_id, sequence);
CREATE INDEX events_time ON events (event_time, id);
CREATE INDEX events_type_time ON events (type, event_time, id);
CREATE INDEX events_received_at ON events (received_at);

-- Per (message, recipient): the highest status reached, the first event to reach it winning ties
-- (a late `sending` after `delivered` is stored but does not regress). Derived from the events,
-- never written, so it cannot disagree with them and costs no write per event.
CREATE VIEW message_status AS
SELECT message_id, recipient, status, status_rank, last_event_id, error_code, updated_at
FROM (
  SELECT message_id, recipient, status, status_rank, id AS last_event_id, error_code,
         received_at AS updated_at,
         row_number() OVER (PARTITION BY message_id, recipient ORDER BY status_rank DESC, sequence) AS pick
  FROM events
  WHERE status IS NOT NULL
)
WHERE pick = 1;

CREATE TABLE quarantine (
  id TEXT PRIMARY KEY,                -- qtn_… derived from the raw element: a retried batch adds no copy
  received_at TEXT NOT NULL,
  reason TEXT NOT NULL,               -- names the failing path: "message.to: Invalid type: …"
  raw_json TEXT NOT NULL,
  reprocessed_at TEXT,
  reprocess_outcome TEXT
);
CREATE INDEX quarantine_received_at ON quarantine (received_at, id);

CREATE TABLE deliveries (
  id INTEGER PRIMARY KEY,             -- insertion order: the latest row of an event is its state
  event_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,           -- the queue's attempt count; 0 for bookkeeping rows
  outcome TEXT NOT NULL,              -- delivered | failed (will retry) | dead | skipped | replayed
  http_status INTEGER,
  error TEXT,
  duration_ms INTEGER,
  at TEXT NOT NULL
);
CREATE INDEX deliveries_event ON deliveries (event_id, id);
CREATE INDEX deliveries_outcome ON deliveries (outcome, id);
CREATE INDEX deliveries_at ON deliveries (at);
