package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestRulesApplyWithAPIKey(t *testing.T) {
	a := testapp.Start(t, testapp.Options{})
	t.Setenv("EVENTPULSE_URL", a.URL)

	id, key, err := auth.CreateKey(context.Background(), a.Pool, "rules-apply", []auth.Scope{auth.ScopeAdmin}, "test")
	require.NoError(t, err)
	testapp.RegisterSecret(key)
	testapp.WaitFor(t, 30*time.Second, "key projected", func() bool {
		return a.Count("SELECT count(*) FROM api_keys WHERE key_id = $1", id) == 1
	})

	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "rules", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)

	t.Setenv("EVENTPULSE_API_KEY", "")
	_, _, err = runCommand(t, "rules", "apply", "--if-empty", files[0])
	require.ErrorContains(t, err, "status 401")

	t.Setenv("EVENTPULSE_API_KEY", key)
	stdout, stderr, err := runCommand(t, "rules", "apply", "--if-empty", "--wait", "30s", files[0])
	require.NoError(t, err, "stderr: %s", stderr)
	require.Contains(t, stdout, files[0]+": created rule ")
	require.NotContains(t, stdout+stderr, key)
	_, secret, ok := auth.ParseKey(key)
	require.True(t, ok)
	require.NotContains(t, stdout+stderr, secret)
	require.Equal(t, 1, a.Count("SELECT count(*) FROM rules"))

	stdout, stderr, err = runCommand(t, "rules", "apply", "--if-empty", files[0])
	require.NoError(t, err, "stderr: %s", stderr)
	require.Equal(t, "1 rules exist; nothing applied\n", stdout)
}
