-- The anomalies read table, built from AnomalyDetected records by the
-- anomalies projector. It can be dropped and rebuilt from the log.

-- +goose Up
CREATE TABLE anomalies (
    anomaly_id UUID PRIMARY KEY,
    rule_id UUID NOT NULL,
    rule_version INTEGER NOT NULL,
    rule_name TEXT NOT NULL,
    severity TEXT NOT NULL,
    group_key TEXT NOT NULL,
    observed DOUBLE PRECISION NOT NULL,
    threshold DOUBLE PRECISION NOT NULL,
    operator TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end TIMESTAMPTZ NOT NULL,
    event_id UUID NOT NULL,
    sample_event_ids UUID[] NOT NULL,
    message TEXT NOT NULL,
    detected_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX anomalies_detected_at_idx ON anomalies (detected_at DESC, anomaly_id DESC);
CREATE INDEX anomalies_rule_detected_at_idx ON anomalies (rule_id, detected_at DESC);
CREATE INDEX anomalies_severity_detected_at_idx ON anomalies (severity, detected_at DESC);

-- +goose Down
DROP TABLE anomalies;
