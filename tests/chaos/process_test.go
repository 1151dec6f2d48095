package chaos

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

var installations atomic.Int64

// installation is one EventPulse deployment: a database, a stream prefix,
// and the processes started for it.
type installation struct {
	t      *testing.T
	name   string
	dbURL  string
	pool   *pgxpool.Pool
	redis  *redis.Client
	apiURL string
	logDir string
}

func newInstallation(t *testing.T) *installation {
	t.Helper()
	ctx := context.Background()

	name := fmt.Sprintf("chaos_%d_%d", os.Getpid(), installations.Add(1))
	require.NoError(t, env.CreateDatabase(ctx, name, ""))

	inst := &installation{t: t, name: name, dbURL: env.DatabaseURL(name), logDir: t.TempDir()}

	migrate := exec.Command(binary, "migrate")
	migrate.Env = inst.environment("migrate")
	output, err := migrate.CombinedOutput()
	require.NoError(t, err, "eventpulse migrate: %s", output)

	inst.pool, err = pgxpool.New(ctx, inst.dbURL)
	require.NoError(t, err)
	t.Cleanup(inst.pool.Close)

	inst.redis = redis.NewClient(&redis.Options{Addr: env.RedisAddr()})
	t.Cleanup(func() { _ = inst.redis.Close() })

	return inst
}

func (inst *installation) environment(consumer string) []string {
	return append(os.Environ(),
		"DATABASE_URL="+inst.dbURL,
		"REDIS_URL=redis://"+env.RedisAddr()+"/0",
		"EVENTPULSE_STREAM_PREFIX="+inst.name,
		"EVENTPULSE_CONSUMER_NAME="+consumer,
		"EVENTPULSE_CLAIM_IDLE=2s",
		"EVENTPULSE_TRIM_INTERVAL=1s",
		"EVENTPULSE_LOG_LEVEL=warn",
	)
}

// process is a running eventpulse subcommand.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// start runs eventpulse subcommand as name until the test ends.
func (inst *installation) start(name, subcommand string, extraEnv ...string) *process {
	inst.t.Helper()

	logFile, err := os.Create(filepath.Join(inst.logDir, name+".log"))
	require.NoError(inst.t, err)

	cmd := exec.Command(binary, subcommand)
	cmd.Env = append(inst.environment(name), extraEnv...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(inst.t, cmd.Start())

	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()

	inst.t.Cleanup(func() {
		p.stop(syscall.SIGTERM)
		if inst.t.Failed() {
			data, _ := os.ReadFile(logFile.Name())
			inst.t.Logf("%s log:\n%s", name, tail(string(data), 4000))
		}
	})

	return p
}

// stop sends sig and waits for the process to exit, then kills it.
func (p *process) stop(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}

	_ = p.cmd.Process.Signal(sig)

	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// startAPI runs eventpulse api on a free port and waits for /healthz.
func (inst *installation) startAPI() *process {
	inst.t.Helper()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(inst.t, err)
	addr := listener.Addr().String()
	require.NoError(inst.t, listener.Close())

	p := inst.start("api", "api", "EVENTPULSE_HTTP_ADDR="+addr)
	inst.apiURL = "http://" + addr

	waitFor(inst.t, 30*time.Second, "API answering /healthz", func() bool {
		response, err := http.Get(inst.apiURL + "/healthz")
		if err != nil {
			return false
		}
		response.Body.Close()

		return response.StatusCode == http.StatusOK
	})

	return p
}

// count runs a count query, retrying while PostgreSQL restarts.
func (inst *installation) count(query string, args ...any) int {
	inst.t.Helper()

	var n int
	var err error
	for range 50 {
		err = inst.pool.QueryRow(context.Background(), query, args...).Scan(&n)
		if err == nil {
			return n
		}

		time.Sleep(200 * time.Millisecond)
	}

	require.NoError(inst.t, err)

	return n
}

func waitFor(t *testing.T, timeout time.Duration, message string, condition func() bool) {
	t.Helper()

	deadline := time.Now().Add(timeout)
	for !condition() {
		if time.Now().After(deadline) {
			require.FailNow(t, "timed out after "+timeout.String()+": "+message)
		}

		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}

	return "…" + s[strings.Index(s[len(s)-n:], "\n")+len(s)-n:]
}
