-- 不满意诉求审核反馈表 (verification forms): the signed and sealed forms a lead unit uploads after two rounds of
-- handling left the enterprise unsatisfied (notice §二(四)3). Every upload is kept; the newest of the current
-- verification counts. The file itself is kept in the database, so a backup of the database holds everything.
CREATE TABLE verification_forms (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES requests (id),
    -- The `verification_form_uploaded` event written in the same transaction.
    event_id    INTEGER NOT NULL UNIQUE REFERENCES events (id),
    unit_id     TEXT NOT NULL,
    -- Detected from the content: application/pdf, image/jpeg or image/png.
    media_type  TEXT NOT NULL,
    -- The name the browser gave, reduced to safe characters.
    file_name   TEXT NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    content     BLOB NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE INDEX verification_forms_request ON verification_forms (request_id, id);
