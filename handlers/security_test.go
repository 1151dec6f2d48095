package handlers

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIsLoopbackAddresses(t *testing.T) {
	t.Parallel()

	cases := map[string]bool{
		"127.0.0.1:8080":          true,
		"127.8.9.10":              true,
		"[::1]:443":               true,
		"::1":                     true,
		"[::ffff:127.0.0.1]:8080": true,
		"localhost:8080":          true,
		"localhost":               true,
		"10.0.0.1:8080":           false,
		"[::2]:80":                false,
		"[::1%lo]:80":             false,
		"example.com:80":          false,
		"":                        false,
		"127.0.0.1.5:80":          false,
	}

	for addr, want := range cases {
		require.Equal(t, want, IsLoopback(addr), "IsLoopback(%q)", addr)
	}
}
