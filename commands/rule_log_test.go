package commands

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// TestRuleCommandNotAppliedIsLogged hands CreateRuleHandler a command with
// an invalid spec, as a producer other than the API could send. The
// handler rejects it before reaching PostgreSQL, so the pool never
// connects, and logs the rejection with the command's ids.
func TestRuleCommandNotAppliedIsLogged(t *testing.T) {
	t.Parallel()

	pool, err := pgxpool.New(t.Context(), "postgres://postgres@127.0.0.1:1/unused")
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	var output bytes.Buffer
	handler := NewCreateRuleHandler(pool, slog.New(slog.NewJSONHandler(&output, nil)))

	spec := thresholdSpec()
	spec.Name = ""
	spec.WindowSeconds = -5
	cmd := &CreateRule{
		RuleCommand: RuleCommand{CommandID: "c-1", RuleID: uuid.New(), ExpiresAt: time.Now().Add(time.Minute)},
		Spec:        spec,
	}

	result, err := handler.Handle(t.Context(), cmd)
	require.NoError(t, err)
	require.Equal(t, OutcomeInvalid, result.Outcome)

	var line map[string]any
	require.NoError(t, json.Unmarshal(output.Bytes(), &line), "one JSON line: %s", output.String())
	require.Equal(t, "INFO", line["level"])
	require.Equal(t, "rules: command not applied", line["msg"])
	require.Equal(t, "c-1", line["command_id"])
	require.Equal(t, cmd.RuleID.String(), line["rule_id"])
	require.Equal(t, OutcomeInvalid, line["outcome"])
	require.Equal(t, result.Message, line["reason"])
	require.Equal(t, []any{
		"name: is required",
		"window_seconds: must be between 1 and 86400, got -5",
	}, line["issues"])
}
