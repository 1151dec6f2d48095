// Package chaos runs eventpulse api and eventpulse worker as separate
// processes against a real PostgreSQL and Redis and breaks them on purpose:
// SIGKILL of a worker, restarts of Redis and PostgreSQL, two workers in one
// consumer group. The tests restart the shared servers, so none of them
// runs in parallel with another.
package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/eventpulse/eventpulse/internal/testenv"
)

var (
	env    *testenv.Env
	binary string
)

func TestMain(m *testing.M) {
	testenv.Main(m, func(e *testenv.Env) error {
		env = e

		dir, err := os.MkdirTemp("", "eventpulse-chaos-")
		if err != nil {
			return err
		}

		binary = filepath.Join(dir, "eventpulse")
		build := exec.Command("go", "build", "-o", binary, "github.com/eventpulse/eventpulse/cmd/eventpulse")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("error building eventpulse: %w", err)
		}

		return nil
	})
}
