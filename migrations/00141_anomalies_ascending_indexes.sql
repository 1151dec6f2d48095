-- The time indexes of the anomalies table become ascending, for the reason
-- migration 00140 gives for the events table: anomalies arrive in about
-- the order of detected_at, and a descending index takes them at the left
-- end of its key range, where page splits leave half-full pages. Rules
-- that match most events write anomalies at the rate events arrive. The
-- anomalies endpoint orders by detected_at DESC, anomaly_id DESC, which
-- PostgreSQL reads by scanning an ascending index backwards.
--
-- As in 00140, each index is built CONCURRENTLY under a temporary name and
-- then takes the old name, and a stopped run can be started again.

-- +goose NO TRANSACTION

-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS anomalies_detected_at_asc_idx;
CREATE INDEX CONCURRENTLY anomalies_detected_at_asc_idx ON anomalies (detected_at, anomaly_id);
DROP INDEX CONCURRENTLY IF EXISTS anomalies_detected_at_idx;
ALTER INDEX anomalies_detected_at_asc_idx RENAME TO anomalies_detected_at_idx;

DROP INDEX CONCURRENTLY IF EXISTS anomalies_rule_detected_at_asc_idx;
CREATE INDEX CONCURRENTLY anomalies_rule_detected_at_asc_idx ON anomalies (rule_id, detected_at);
DROP INDEX CONCURRENTLY IF EXISTS anomalies_rule_detected_at_idx;
ALTER INDEX anomalies_rule_detected_at_asc_idx RENAME TO anomalies_rule_detected_at_idx;

DROP INDEX CONCURRENTLY IF EXISTS anomalies_severity_detected_at_asc_idx;
CREATE INDEX CONCURRENTLY anomalies_severity_detected_at_asc_idx ON anomalies (severity, detected_at);
DROP INDEX CONCURRENTLY IF EXISTS anomalies_severity_detected_at_idx;
ALTER INDEX anomalies_severity_detected_at_asc_idx RENAME TO anomalies_severity_detected_at_idx;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS anomalies_detected_at_desc_idx;
CREATE INDEX CONCURRENTLY anomalies_detected_at_desc_idx ON anomalies (detected_at DESC, anomaly_id DESC);
DROP INDEX CONCURRENTLY IF EXISTS anomalies_detected_at_idx;
ALTER INDEX anomalies_detected_at_desc_idx RENAME TO anomalies_detected_at_idx;

DROP INDEX CONCURRENTLY IF EXISTS anomalies_rule_detected_at_desc_idx;
CREATE INDEX CONCURRENTLY anomalies_rule_detected_at_desc_idx ON anomalies (rule_id, detected_at DESC);
DROP INDEX CONCURRENTLY IF EXISTS anomalies_rule_detected_at_idx;
ALTER INDEX anomalies_rule_detected_at_desc_idx RENAME TO anomalies_rule_detected_at_idx;

DROP INDEX CONCURRENTLY IF EXISTS anomalies_severity_detected_at_desc_idx;
CREATE INDEX CONCURRENTLY anomalies_severity_detected_at_desc_idx ON anomalies (severity, detected_at DESC);
DROP INDEX CONCURRENTLY IF EXISTS anomalies_severity_detected_at_idx;
ALTER INDEX anomalies_severity_detected_at_desc_idx RENAME TO anomalies_severity_detected_at_idx;
