package main

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestKeysRevokeTwice(t *testing.T) {
	a := testapp.Start(t, testapp.Options{})
	t.Setenv("DATABASE_URL", a.Config.DatabaseURL)
	t.Setenv("REDIS_URL", a.Config.RedisURL)
	t.Setenv("EVENTPULSE_LOG_LEVEL", "warn")

	stdout, stderr, err := runCommand(t, "keys", "create", "--name", "revoke-twice", "--scope", "read")
	require.NoError(t, err, "stderr: %s", stderr)

	id, found := strings.CutPrefix(strings.Split(stdout, "\n")[0], "key id: ")
	require.True(t, found, "output: %s", stdout)
	secret, found := strings.CutPrefix(strings.Split(stdout, "\n")[1], "key:    ")
	require.True(t, found, "output: %s", stdout)
	testapp.RegisterSecret(secret)

	stdout, stderr, err = runCommand(t, "keys", "revoke", id)
	require.NoError(t, err, "stderr: %s", stderr)
	require.Equal(t, "revoked "+id+"\n", stdout)

	_, _, err = runCommand(t, "keys", "revoke", id)
	require.ErrorContains(t, err, "API key is already revoked since ")
	require.NotContains(t, err.Error(), "not found")

	unknown := uuid.NewString()
	_, _, err = runCommand(t, "keys", "revoke", unknown)
	require.ErrorContains(t, err, `error revoking key "`+unknown+`": API key not found`)
}

func TestKeysCreateRejectsInvisibleNames(t *testing.T) {
	a := testapp.Start(t, testapp.Options{NoWorker: true})
	t.Setenv("DATABASE_URL", a.Config.DatabaseURL)
	t.Setenv("REDIS_URL", a.Config.RedisURL)
	t.Setenv("EVENTPULSE_LOG_LEVEL", "warn")

	for _, name := range []string{"a\tb", "evil\nKEY ID  fake", "zero\u200bwidth", "  ", "\u3164"} {
		_, _, err := runCommand(t, "keys", "create", "--name", name, "--scope", "read")
		require.Error(t, err, "name %q", name)
	}

	require.Zero(t, a.Count("SELECT count(*) FROM api_keys"), "no key was created")
}
