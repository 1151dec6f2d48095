-- The rules read table: the current state of each rule, built by the rules
-- projector from RuleCreated, RuleReplaced, RulePatched and RuleDeleted. A
-- deleted rule keeps its row with deleted_at set, so the projector can
-- still skip records at or below the version it applied. The table can be
-- dropped and rebuilt from the log.

-- +goose Up
CREATE TABLE rules (
    rule_id UUID PRIMARY KEY,
    version INT NOT NULL,
    name TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    severity TEXT NOT NULL,
    window_seconds INT NOT NULL,
    cooldown_seconds INT NOT NULL,
    allowed_lateness_seconds INT,
    condition JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);

CREATE INDEX rules_live_created_idx ON rules (created_at, rule_id) WHERE deleted_at IS NULL;

-- +goose Down
DROP TABLE rules;
