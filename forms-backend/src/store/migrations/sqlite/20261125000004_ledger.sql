-- The official tables (附件2–5) select orders by when they were received and by when an event happened
-- (dispatched, resolved, rated) in a date range: both are range scans, in time order. Events by kind and time use
-- `events_kind_at` (20261125000003).
CREATE INDEX IF NOT EXISTS ledger_requests_created ON requests (created_at, id);
