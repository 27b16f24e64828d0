-- The supervision pass (督办亮牌) scans only open orders by deadline, and reads card events by kind.
CREATE INDEX requests_open_due ON requests (due_at)
    WHERE status IN ('dispatched', 'accepted', 'planned', 'rework');
CREATE INDEX events_kind_at ON events (kind, at);
