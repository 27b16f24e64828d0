-- The monthly questionnaire (附件5): one sent and one answer per order, however often the centre presses the button
-- or the enterprise submits the form.
CREATE UNIQUE INDEX events_questionnaire_sent_once ON events (request_id) WHERE kind = 'questionnaire_sent';
CREATE UNIQUE INDEX events_questionnaire_answered_once ON events (request_id) WHERE kind = 'questionnaire';
