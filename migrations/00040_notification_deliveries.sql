-- Notification deliveries: one row per anomaly and channel, written by the
-- notifier projector as "pending" in the transaction that moves its offset,
-- and moved to "sent" or "failed" by the delivery loop. The primary key is
-- what makes a replay or a redelivery of the same AnomalyDetected record
-- find its deliveries already recorded and send nothing.

-- +goose Up
CREATE TABLE notification_deliveries (
    anomaly_id UUID NOT NULL,
    channel TEXT NOT NULL,
    rule_id UUID NOT NULL,
    severity TEXT NOT NULL,
    -- The AnomalyDetected payload the message is rendered from, so the
    -- delivery loop never reads the log.
    anomaly JSONB NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    -- A pending row is sent once next_attempt_at has passed and no live
    -- delivery loop holds its lease.
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at TIMESTAMPTZ,
    PRIMARY KEY (anomaly_id, channel)
);

CREATE INDEX notification_deliveries_due_idx
    ON notification_deliveries (channel, next_attempt_at) WHERE status = 'pending';
CREATE INDEX notification_deliveries_created_idx
    ON notification_deliveries (created_at DESC, anomaly_id, channel);

-- The live feed of the API instances: each AnomalyDetected record wakes the
-- listeners of the eventpulse_anomaly channel with its offset once its
-- transaction commits, whoever appended it.
CREATE INDEX event_log_anomaly_position_idx
    ON event_log (transaction_id, "offset") WHERE metadata ->> 'name' = 'AnomalyDetected';
CREATE INDEX event_log_anomaly_id_idx
    ON event_log ((payload ->> 'anomaly_id')) WHERE metadata ->> 'name' = 'AnomalyDetected';

-- +goose StatementBegin
CREATE FUNCTION event_log_notify_anomaly() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('eventpulse_anomaly', NEW."offset"::text);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER event_log_anomaly_notify
    AFTER INSERT ON event_log
    FOR EACH ROW WHEN (NEW.metadata ->> 'name' = 'AnomalyDetected')
    EXECUTE FUNCTION event_log_notify_anomaly();

-- +goose Down
DROP TRIGGER event_log_anomaly_notify ON event_log;
DROP FUNCTION event_log_notify_anomaly();
DROP INDEX event_log_anomaly_id_idx;
DROP INDEX event_log_anomaly_position_idx;
DROP TABLE notification_deliveries;
