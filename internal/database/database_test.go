package database_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestMain(m *testing.M) {
	testapp.Main(m)
}

func TestOpenTurnsJITOff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	url := testapp.NewDatabase(t)

	jit := func(url string) string {
		pool, err := database.Open(ctx, url, 2)
		require.NoError(t, err)
		defer pool.Close()

		var value string
		require.NoError(t, pool.QueryRow(ctx, `SHOW jit`).Scan(&value))

		return value
	}

	require.Equal(t, "off", jit(url), "default")

	separator := "?"
	if strings.Contains(url, "?") {
		separator = "&"
	}
	require.Equal(t, "on", jit(url+separator+"jit=on"), "jit set in the URL")
}
