-- API keys, built from APIKeyCreated and APIKeyRevoked records by the
-- apikeys projector. Only a SHA-256 hash of each key's secret is kept.

-- +goose Up
CREATE TABLE api_keys (
    key_id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT[] NOT NULL,
    secret_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

-- +goose Down
DROP TABLE api_keys;
