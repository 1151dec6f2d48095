-- The detector's own read table: one row per anomaly it found, with the
-- EventsIngested record that caused it. The live detector writes a row in
-- the transaction that appends the AnomalyDetected record; a replay of the
-- detector fills a copy from the log without appending, and swaps it in.
-- After a rebuild of its windows the detector restores cooldowns from it
-- as well as from the log, so a replay that resumes keeps the cooldowns of
-- the anomalies it found before the interrupt.

-- +goose Up
CREATE TABLE detections (
    anomaly_id UUID PRIMARY KEY,
    rule_id UUID NOT NULL,
    rule_version INTEGER NOT NULL,
    group_key TEXT NOT NULL,
    event_id UUID NOT NULL,
    -- The event time at which the rule fired.
    detected_at TIMESTAMPTZ NOT NULL,
    cause_record_id UUID NOT NULL
);

CREATE INDEX detections_cause_record_id_idx ON detections (cause_record_id);

INSERT INTO detections (anomaly_id, rule_id, rule_version, group_key, event_id, detected_at, cause_record_id)
SELECT (payload->>'anomaly_id')::uuid, (payload->>'rule_id')::uuid, (payload->>'rule_version')::integer,
    payload->>'group_key', (payload->>'event_id')::uuid, (payload->>'detected_at')::timestamptz,
    (metadata->>'causation_id')::uuid
FROM event_log
WHERE metadata->>'name' = 'AnomalyDetected' AND metadata->>'causation_id' IS NOT NULL
ON CONFLICT (anomaly_id) DO NOTHING;

-- +goose Down
DROP TABLE detections;
