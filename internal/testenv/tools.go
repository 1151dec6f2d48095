package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
)

// PostgresBinary returns the path of the named program (pg_dump,
// pg_restore, ...) in the directory of the PostgreSQL server in use, so that
// client and server versions match.
func (e *Env) PostgresBinary(name string) string {
	return filepath.Join(e.pgBinDir, name)
}

// ResetEpoch sets the transaction id epoch of the cluster with
// pg_resetwal -e, so every transaction id (xid8) it assigns afterwards is at
// least epoch × 2^32. PostgreSQL must be stopped (StopPostgres).
func (e *Env) ResetEpoch(ctx context.Context, epoch int64) error {
	e.mu.Lock()
	defer e.mu.Unlock()

	if e.postgres != nil && !e.postgres.exited() {
		return fmt.Errorf("error resetting epoch: PostgreSQL is running, call StopPostgres first")
	}

	cmd := exec.CommandContext(ctx, e.PostgresBinary("pg_resetwal"), "-e", strconv.FormatInt(epoch, 10), e.pgDataDir())
	cmd.SysProcAttr = childAttributes(e.credential, syscall.SIGKILL)

	output, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("error running pg_resetwal -e %d on %q: %w; output ends with:\n%s",
			epoch, e.pgDataDir(), err, tail(output))
	}

	return nil
}
