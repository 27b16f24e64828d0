-- Requests (诉求) and the work orders (工单) they become: current state. Every change is also an event.
CREATE TABLE requests (
    id                   INTEGER PRIMARY KEY,
    tracking_number      TEXT NOT NULL UNIQUE,
    token_hash           TEXT NOT NULL,
    idempotency_key      TEXT UNIQUE,
    kind                 TEXT NOT NULL,
    channel              TEXT NOT NULL,
    enterprise_name      TEXT NOT NULL,
    credit_code          TEXT,
    contact_name         TEXT NOT NULL,
    contact_phone        TEXT NOT NULL,
    contact_email        TEXT,
    town                 TEXT NOT NULL,
    description          TEXT NOT NULL,
    suggested_department TEXT,
    policy               TEXT,
    status               TEXT NOT NULL,
    -- The /api/answer object given at intake (consultations), JSON.
    instant_answer       TEXT,
    -- A consultation the policy base could not answer (知识缺口).
    knowledge_gap        INTEGER NOT NULL DEFAULT 0,
    lead_unit            TEXT,
    co_units             TEXT NOT NULL DEFAULT '[]',
    due_at               TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE INDEX requests_status ON requests (status, created_at);
CREATE INDEX requests_gap ON requests (knowledge_gap, created_at);

-- Append-only history of every request: who, when, what, payload.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES requests (id),
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_request ON events (request_id, id);

-- Messages to send, written in the same transaction as the event that causes them.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    event_id        INTEGER NOT NULL REFERENCES events (id),
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    sent_at         TEXT,
    UNIQUE (event_id, recipient)
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- Links that let a handling unit act on one order (only the hash of the token is kept).
CREATE TABLE unit_tokens (
    id         INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES requests (id),
    unit_id    TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Tracking numbers are numbered per day.
CREATE TABLE daily_sequence (
    day  TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);

-- Console users (centre staff and leaders) and their sessions.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
