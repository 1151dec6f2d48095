package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/testapp"
)

// buildBinary builds cmd/eventpulse into a temporary directory of t and
// returns its path.
func buildBinary(t *testing.T) string {
	t.Helper()

	binary := filepath.Join(t.TempDir(), "eventpulse")
	command := exec.Command(goCommand(), "build", "-o", binary, "github.com/eventpulse/eventpulse/cmd/eventpulse")
	output, err := command.CombinedOutput()
	require.NoError(t, err, "go build: %s", output)

	return binary
}

// goCommand returns the go tool on PATH, or the one in /usr/local/go, where
// the official archive installs it, when PATH has none.
func goCommand() string {
	if path, err := exec.LookPath("go"); err == nil {
		return path
	}

	return "/usr/local/go/bin/go"
}

// process is an eventpulse child process whose output goes to a file that is
// printed when the test fails.
type process struct {
	name    string
	command *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

// startProcess runs binary with args and env added to this process's
// environment, and stops it with SIGTERM when the test ends.
func startProcess(t *testing.T, name, binary string, env []string, args ...string) *process {
	t.Helper()

	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)

	command := exec.Command(binary, args...)
	command.Env = append(os.Environ(), env...)
	command.Stdout = logFile
	command.Stderr = logFile
	// The child dies with the test binary even when the test is killed.
	command.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, command.Start(), name)

	p := &process{name: name, command: command, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = command.Wait()
		_ = logFile.Close()
		close(p.done)
	}()

	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("output of %s:\n%s", name, p.output())
		}
	})

	return p
}

// stop sends SIGTERM and waits; after 20s it sends SIGKILL.
func (p *process) stop(t *testing.T) {
	t.Helper()

	if p.exited() {
		return
	}

	_ = p.command.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Errorf("%s did not stop within 20s of SIGTERM", p.name)
		require.NoError(t, p.kill())
	}
}

// kill sends SIGKILL, which the process cannot handle, and waits for it.
func (p *process) kill() error {
	if err := p.command.Process.Kill(); err != nil {
		return fmt.Errorf("error killing %s: %w", p.name, err)
	}
	<-p.done

	return nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) output() string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}

	return string(data)
}

// runProcess runs binary to completion and returns its combined output.
func runProcess(ctx context.Context, binary string, env []string, args ...string) (string, error) {
	command := exec.CommandContext(ctx, binary, args...)
	command.Env = append(os.Environ(), env...)
	output, err := command.CombinedOutput()

	return strings.TrimSpace(string(output)), err
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := listener.Addr().String()
	require.NoError(t, listener.Close())

	return addr
}

func TestServerStartupErrorLoggedAsJSON(t *testing.T) {
	t.Parallel()

	binary := buildBinary(t)

	// A listener that is closed at once leaves a port nothing listens on.
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	redisAddr := listener.Addr().String()
	require.NoError(t, listener.Close())

	command := exec.Command(binary, "api")
	command.Env = append(os.Environ(),
		"DATABASE_URL="+testapp.NewDatabase(t),
		"REDIS_URL=redis://"+redisAddr+"/0",
		"EVENTPULSE_HTTP_ADDR=127.0.0.1:0")
	var stderr bytes.Buffer
	command.Stderr = &stderr
	err = command.Run()

	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	require.Equal(t, 1, exitErr.ExitCode())

	var stopped map[string]any
	for line := range bytes.Lines(stderr.Bytes()) {
		var record map[string]any
		require.NoError(t, json.Unmarshal(line, &record), "every line is JSON: %s", line)
		if record["msg"] == "eventpulse: stopped on an error" {
			stopped = record
		}
	}
	require.NotNil(t, stopped, "output: %s", stderr.String())
	require.Equal(t, "ERROR", stopped["level"])
	require.Contains(t, stopped["error"], "error connecting to Redis")
}
