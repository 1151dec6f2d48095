-- The correlation id of the AnomalyDetected record a delivery comes from,
-- so the delivery loop's log lines carry the id of the request whose
-- events raised the anomaly. Rows recorded before this column have none.

-- +goose Up
ALTER TABLE notification_deliveries ADD COLUMN correlation_id TEXT;

-- +goose Down
ALTER TABLE notification_deliveries DROP COLUMN correlation_id;
