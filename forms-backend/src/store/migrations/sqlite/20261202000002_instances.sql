-- Several instances on one database (PostgreSQL; on SQLite one machine, but the same rules): an outbox message is claimed by one worker until `claimed_until`, so two
-- workers never send it both, and a worker that dies leaves a claim that expires; a lease names the one instance
-- that runs a periodic task (the supervision pass) until it expires.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
-- The server secret (idempotent submissions get the same link back), kept with the data so that every
-- instance uses one key and a backup of the database holds it.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
