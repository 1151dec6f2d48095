// Package tests holds end-to-end tests: EventPulse runs in-process against a
// real PostgreSQL and Redis, and the tests talk to it through the
// ogen-generated client or plain HTTP.
package tests

import (
	"testing"

	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestMain(m *testing.M) {
	testapp.Main(m)
}
