-- 0002: fewer rows written per event (issue 9, docs/capacity.md §6.2).
--
-- D1 bills every row written, and every index entry is one more. An insert into the old `events`
-- cost 5 rows (table, primary-key index, three secondary indexes). Clustered on its id (WITHOUT
-- ROWID) with two indexes it costs 3: the message's timeline and the time order that the admin
-- list, retention and the byte budget walk. `type` filters ride the time index; nothing reads by
-- `received_at` any more (the archive is written from the ledgers, not from D1).
--
-- The CloudEvent is stored gzip-compressed (`event_gz`, src/db/event-body.ts): a WITHOUT ROWID row
-- larger than about 1 KB spills into overflow pages (1.3 KB of JSON took 4.8 KB of D1), while 480
-- bytes of gzip stay in the page. Rows copied from 0001 keep their JSON text in `event_gz`; the
-- readers take either. The `raw_json` column goes: nothing in SQL can read a compressed body.

DROP VIEW message_status;

CREATE TABLE events_v2 (
  id TEXT NOT NULL PRIMARY KEY,       -- evt_…, also the CloudEvents id and the webhook-id
  message_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,          -- per message, assigned by its ledger
  type TEXT NOT NULL,
  direction TEXT,
  recipient TEXT NOT NULL,
  from_number TEXT,
  owner TEXT,
  application_id TEXT,
  error_code INTEGER,
  event_time TEXT NOT NULL,
  received_at TEXT NOT NULL,
  status TEXT,
  status_rank INTEGER,
  event_gz BLOB NOT NULL             -- the CloudEvent as forwarded, gzip (or JSON text, for rows from 0001)
) WITHOUT ROWID;

INSERT INTO events_v2 (id, message_id, sequence, type, direction, recipient, from_number, owner, application_id,
  error_code, event_time, received_at, status, status_rank, event_gz)
SELECT id, message_id, sequence, type, direction, recipient, from_number, owner, application_id,
  error_code, event_time, received_at, status, status_rank, normalized_json
FROM events;

DROP TABLE events;
ALTER TABLE events_v2 RENAME TO events;

CREATE INDEX events_message_sequence ON events (message_id, sequence);
-- The primary key (id) is part of every index entry of a WITHOUT ROWID table: this serves (event_time, id).
CREATE INDEX events_time ON events (event_time);

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

-- Deliveries keep a row only for what is not a first-try success; retention walks them in id
-- order, so the time index goes.
DROP INDEX deliveries_at;

-- First-try outcomes are counted, not recorded one by one: one upsert per outcome per consumer
-- batch instead of a row (and three index entries) per event.
CREATE TABLE delivery_counts (
  hour TEXT NOT NULL,                 -- 2026-12-01T04 (UTC)
  outcome TEXT NOT NULL,              -- delivered | skipped
  n INTEGER NOT NULL,
  PRIMARY KEY (hour, outcome)
) WITHOUT ROWID;
