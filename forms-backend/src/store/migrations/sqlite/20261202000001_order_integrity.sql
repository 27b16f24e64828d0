-- Order integrity: a version that every write checks against the state its step was decided on, the round of
-- handling, the fingerprint of the body an idempotency key was first used with, and links bound to a role and a
-- round (a rating link is not a unit's link; a link of an earlier round no longer works).
ALTER TABLE requests ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN round INTEGER NOT NULL DEFAULT 1;
ALTER TABLE requests ADD COLUMN idempotency_fingerprint TEXT;
UPDATE requests SET round = 1 + (
    SELECT COUNT(*) FROM events e WHERE e.request_id = requests.id
       AND (e.kind = 'returned'
            OR (e.kind = 'verification_opinion' AND json_extract(e.payload, '$.conclusion') = 'rework')));

ALTER TABLE unit_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'unit';
ALTER TABLE unit_tokens ADD COLUMN round INTEGER NOT NULL DEFAULT 0;
UPDATE unit_tokens SET role = 'rating' WHERE unit_id = 'enterprise-rating';
UPDATE unit_tokens SET role = 'questionnaire' WHERE unit_id = 'enterprise-questionnaire';
UPDATE unit_tokens SET round = (SELECT r.round FROM requests r WHERE r.id = unit_tokens.request_id);
