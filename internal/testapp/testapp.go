// Package testapp runs EventPulse in-process for integration tests: the API
// and the worker against a real PostgreSQL and Redis started by testenv,
// with the ogen-generated client pointed at the API.
//
// Each App gets its own database, copied from a migrated template, and its
// own Redis stream prefix, so tests of one package run in parallel against
// one PostgreSQL and one Redis.
package testapp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/ogen-go/ogen/ogenerrors"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/app"
	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/logging"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testenv"
)

const templateDatabase = "eventpulse_template"

var (
	sharedEnv    *testenv.Env
	templateOnce sync.Once
	templateErr  error
	appCounter   atomic.Int64
)

// Main starts one PostgreSQL and one Redis for the test binary; call it
// from TestMain.
func Main(m *testing.M) {
	testenv.Main(m, func(env *testenv.Env) error {
		sharedEnv = env
		return nil
	})
}

// Env returns the services started by Main.
func Env(t testing.TB) *testenv.Env {
	t.Helper()
	require.NotNil(t, sharedEnv, "testapp.Main must run from TestMain")

	return sharedEnv
}

// Options adjusts an App.
type Options struct {
	// NoWorker starts the API only; start the worker with StartWorker.
	NoWorker bool
	// Config changes the configuration before the App starts.
	Config func(*config.Config)
	// Log, when set, receives a copy of every log line the App writes, at
	// every level.
	Log io.Writer
}

// App is one EventPulse installation: a database, a stream prefix, an API
// listening on a loopback port and, unless stopped, a worker.
type App struct {
	t      testing.TB
	Config config.Config
	Deps   *app.Deps
	// Pool is a connection pool to the App's database for assertions.
	Pool   *pgxpool.Pool
	URL    string
	Client *oas.Client

	apiCancel    context.CancelFunc
	apiDone      chan error
	workerMu     sync.Mutex
	workerStarts int
	workerCancel context.CancelFunc
	workerDone   chan error
}

// NewDatabase creates an empty, migrated database and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	env := Env(t)
	ctx := context.Background()

	templateOnce.Do(func() { templateErr = createTemplate(ctx, env) })
	require.NoError(t, templateErr)

	name := fmt.Sprintf("test_%d_%d", os.Getpid(), appCounter.Add(1))
	require.NoError(t, env.CreateDatabase(ctx, name, templateDatabase))

	return env.DatabaseURL(name)
}

// Start runs an App until the test ends.
func Start(t testing.TB, opts Options) *App {
	t.Helper()
	env := Env(t)
	ctx := context.Background()
	databaseURL := withPassword(t, NewDatabase(t))
	prefix := "test" + strings.TrimPrefix(databaseURL[strings.LastIndex(databaseURL, "/"):], "/")
	prefix = strings.SplitN(prefix, "?", 2)[0]

	cfg := config.Config{
		DatabaseURL:  databaseURL,
		RedisURL:     "redis://" + env.RedisAddr() + "/0",
		HTTPAddr:     "127.0.0.1:0",
		LogLevel:     "warn",
		StreamPrefix: prefix,
		ConsumerName: prefix + "-worker",
		// Commands left with a stopped worker are claimed after this idle
		// time; claims never take commands from a consumer whose heartbeat
		// is fresh, so a short time is safe.
		ClaimIdle:       3 * time.Second,
		ShutdownTimeout: 10 * time.Second,
	}.WithDefaults()
	if opts.Config != nil {
		opts.Config(&cfg)
	}

	writer := &testWriter{t: t, level: mustLevel(t, cfg), copy: opts.Log}
	logger := logging.New(writer, slog.LevelDebug)
	deps, err := app.Open(ctx, cfg, logger)
	require.NoError(t, err)

	a := &App{t: t, Config: cfg, Deps: deps, Pool: deps.Pool}
	a.startAPI()

	if !opts.NoWorker {
		a.StartWorker()
	}

	t.Cleanup(func() {
		a.stop()
		writer.closed.Store(true)
	})

	return a
}

func mustLevel(t testing.TB, cfg config.Config) slog.Level {
	level, err := cfg.SlogLevel()
	require.NoError(t, err)

	return level
}

func (a *App) startAPI() {
	api, err := app.NewAPI(a.Deps)
	require.NoError(a.t, err)

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(a.t, err)

	a.URL = "http://" + listener.Addr().String()
	a.Client, err = oas.NewClient(a.URL, &KeySource{}, oas.WithClient(&http.Client{Timeout: 30 * time.Second}))
	require.NoError(a.t, err)

	ctx, cancel := context.WithCancel(context.Background())
	a.apiCancel = cancel
	a.apiDone = make(chan error, 1)

	go func() { a.apiDone <- api.Serve(ctx, listener) }()
}

// StartAPI starts one more API instance over the App's database and Redis,
// with connections of its own as a separate process would have, and
// returns its base URL. It stops when the test ends.
func (a *App) StartAPI() string {
	a.t.Helper()

	deps, err := app.Open(context.Background(), a.Config, a.Deps.Logger)
	require.NoError(a.t, err)

	api, err := app.NewAPI(deps)
	require.NoError(a.t, err)

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(a.t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- api.Serve(ctx, listener) }()

	a.t.Cleanup(func() {
		cancel()
		require.NoError(a.t, <-done)
		deps.Close()
	})

	return "http://" + listener.Addr().String()
}

// StartWorker starts the worker (command handlers and projectors).
func (a *App) StartWorker() {
	a.workerMu.Lock()
	defer a.workerMu.Unlock()
	require.Nil(a.t, a.workerCancel, "worker already running")

	// Each start is a new consumer, as a restarted process would be, so the
	// commands that the stopped subscriber read last are claimed from it.
	a.workerStarts++
	deps := *a.Deps
	deps.Config.ConsumerName = fmt.Sprintf("%s-%d", a.Config.ConsumerName, a.workerStarts)

	worker, err := app.NewWorker(&deps)
	require.NoError(a.t, err)

	ctx, cancel := context.WithCancel(context.Background())
	a.workerCancel = cancel
	a.workerDone = make(chan error, 1)

	go func() { a.workerDone <- worker.Run(ctx) }()

	select {
	case <-worker.Running():
	case err := <-a.workerDone:
		a.workerCancel = nil
		require.NoError(a.t, err, "worker stopped at start")
	case <-time.After(30 * time.Second):
		cancel()
		err := <-a.workerDone
		a.workerCancel = nil
		require.FailNow(a.t, "worker did not start within 30s", "error: %v", err)
	}
}

// StopWorker stops the worker gracefully and waits for it.
func (a *App) StopWorker() {
	a.workerMu.Lock()
	defer a.workerMu.Unlock()

	if a.workerCancel == nil {
		return
	}

	a.workerCancel()
	err := <-a.workerDone
	a.workerCancel = nil
	require.NoError(a.t, err)
}

func (a *App) stop() {
	a.StopWorker()
	a.apiCancel()
	require.NoError(a.t, <-a.apiDone)
	a.Deps.Close()
}

// WaitFor polls condition every 50ms until it returns true or timeout
// passes, then fails the test with message.
func WaitFor(t testing.TB, timeout time.Duration, message string, condition func() bool) {
	t.Helper()

	deadline := time.Now().Add(timeout)
	for !condition() {
		if time.Now().After(deadline) {
			require.FailNow(t, "timed out after "+timeout.String()+": "+message)
		}

		time.Sleep(50 * time.Millisecond)
	}
}

// Count runs a count query on the App's database.
func (a *App) Count(query string, args ...any) int {
	a.t.Helper()

	var n int
	require.NoError(a.t, a.Pool.QueryRow(context.Background(), query, args...).Scan(&n))

	return n
}

func createTemplate(ctx context.Context, env *testenv.Env) error {
	if err := env.CreateDatabase(ctx, templateDatabase, ""); err != nil {
		return err
	}

	pool, err := database.Open(ctx, env.DatabaseURL(templateDatabase), 4)
	if err != nil {
		return err
	}
	defer pool.Close()

	migrator, err := database.NewMigrator(pool)
	if err != nil {
		return err
	}
	defer func() { _ = migrator.Close() }()

	return migrator.Up(ctx, slog.New(slog.DiscardHandler))
}

// KeySource supplies the generated client with an API key; the zero value
// sends none.
type KeySource struct {
	Key string
}

// BearerAuth implements oas.SecuritySource.
func (s *KeySource) BearerAuth(context.Context, oas.OperationName) (oas.BearerAuth, error) {
	if s.Key == "" {
		return oas.BearerAuth{}, ogenerrors.ErrSkipClientSecurity
	}

	return oas.BearerAuth{Token: s.Key}, nil
}

// ApiKeyHeader implements oas.SecuritySource; keys go as bearer tokens.
func (s *KeySource) ApiKeyHeader(context.Context, oas.OperationName) (oas.ApiKeyHeader, error) {
	return oas.ApiKeyHeader{}, ogenerrors.ErrSkipClientSecurity
}

var secrets sync.Map

// RegisterSecret makes every App fail its test when a log line contains
// secret. Apps log at Debug level for this check, whatever the configured
// level, and show lines at the configured level and above in the test log.
func RegisterSecret(secret string) {
	secrets.Store(secret, true)
}

// withPassword adds a password to databaseURL and registers it as a
// secret. The test PostgreSQL trusts loopback clients, so any password
// works, and the check proves that none is logged.
func withPassword(t testing.TB, databaseURL string) string {
	t.Helper()

	password := fmt.Sprintf("pw-%d-%d", os.Getpid(), appCounter.Add(1))
	RegisterSecret(password)

	return strings.Replace(databaseURL, "postgres@", "postgres:"+password+"@", 1)
}

// testWriter checks each log line for registered secrets, sends lines at
// level and above to the test's log, and drops lines written after the App
// stopped.
type testWriter struct {
	t      testing.TB
	level  slog.Level
	copy   io.Writer
	closed atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if w.closed.Load() {
		return len(p), nil
	}

	secrets.Range(func(secret, _ any) bool {
		if strings.Contains(string(p), secret.(string)) {
			w.t.Errorf("a log line contains a registered secret: %.80s…", p)
		}
		return true
	})

	if lineLevel(p) >= w.level {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}

	if w.copy != nil {
		_, _ = w.copy.Write(p)
	}

	return len(p), nil
}

func lineLevel(line []byte) slog.Level {
	for _, level := range []slog.Level{slog.LevelError, slog.LevelWarn, slog.LevelInfo} {
		if strings.Contains(string(line), `"level":"`+level.String()+`"`) {
			return level
		}
	}

	return slog.LevelDebug
}
