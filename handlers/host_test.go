package handlers

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIsLoopbackHostNames(t *testing.T) {
	t.Parallel()

	cases := map[string]bool{
		"localhost":                true,
		"localhost:8080":           true,
		"LOCALHOST:8080":           true,
		"LocalHost":                true,
		"localhost.":               true,
		"localhost.:8080":          true,
		"127.0.0.1":                true,
		"127.0.0.1:8080":           true,
		"127.255.0.9:1":            true,
		"[::1]":                    true,
		"[::1]:8080":               true,
		"[0:0:0:0:0:0:0:1]:8080":   true,
		"[::ffff:127.0.0.1]:8080":  true,
		"":                         false,
		"evil.example":             false,
		"evil.example:8080":        false,
		"localhost.evil.example":   false,
		"evil.localhost":           false,
		"localhost..":              false,
		"127.0.0.1.evil.example":   false,
		"127.0.0.1.":               false,
		"127.1":                    false,
		"2130706433":               false,
		"10.0.0.1:8080":            false,
		"0.0.0.0:8080":             false,
		"::1":                      false,
		"[127.0.0.1]:8080":         false,
		"[localhost]:8080":         false,
		"[::2]:8080":               false,
		"[::1%lo]:8080":            false,
		"[::1":                     false,
		"[::1]8080":                false,
		"localhost:":               false,
		"localhost:http":           false,
		"localhost:123456":         false,
		"127.0.0.1:8080:8080":      false,
		"[::ffff:10.0.0.1]:8080":   false,
		"localhost:8080/evil.host": false,
	}

	for host, want := range cases {
		require.Equal(t, want, isLoopbackHost(host), "isLoopbackHost(%q)", host)
	}
}

func TestIsLoopbackHostAllocations(t *testing.T) {
	for _, host := range []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080"} {
		allocations := testing.AllocsPerRun(100, func() { isLoopbackHost(host) })
		require.Zero(t, allocations, "isLoopbackHost(%q)", host)
	}
}
