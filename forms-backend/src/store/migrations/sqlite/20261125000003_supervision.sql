-- The supervision pass (督办亮牌) scans only open orders by deadline.
CREATE INDEX requests_open_due ON requests (due_at)
    WHERE status IN ('dispatched', 'accepted', 'planned', 'rework');
-- Events by kind and time: card events for the supervision pass, the figures of the reports (统计报表) and the
-- official tables (台账) read events of a kind in a time range. (Every index ends with the row id, so this also
-- gives events of a kind in time order.)
CREATE INDEX events_kind_at ON events (kind, at, request_id);
