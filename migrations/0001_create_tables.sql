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
  normalized_json TEXT NOT NULL,      -- the CloudEvent, byte for byte what is forwarded
  -- The original element lives inside the CloudEvent (data.bandwidth); storing it twice would
  -- double the row and push large inbound texts past D1's row size limit.
  raw_json TEXT GENERATED ALWAYS AS (json_extract(normalized_json, '$.data.bandwidth')) VIRTUAL
);
CREATE INDEX events_message_sequence ON events (message_id, sequence);
CREATE INDEX events_time ON events (event_time, id);
CREATE INDEX events_type_time ON events (type, event_time, id);
CREATE INDEX events_received_at ON events (received_at);

CREATE TABLE message_status (
  message_id TEXT NOT NULL,
  recipient TEXT NOT NULL,
  status TEXT NOT NULL,               -- received | sending | sent | delivered | failed | read
  status_rank INTEGER NOT NULL,       -- the status only ever moves to a higher rank
  last_event_id TEXT NOT NULL,        -- the event that set this status
  error_code INTEGER,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (message_id, recipient)
);
CREATE INDEX message_status_updated_at ON message_status (updated_at);

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
