// Package testenv starts a real PostgreSQL and a real Redis server for
// integration tests. Both servers listen on free 127.0.0.1 ports, keep their
// data in a temporary directory and are removed again by Env.Close.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const (
	defaultStartTimeout = 30 * time.Second
	defaultStopTimeout  = 10 * time.Second

	// portAttempts is how many free ports a first start tries, because
	// another process can take a port between the probe and the bind.
	portAttempts = 3
)

// ErrBinaryNotFound is returned by Start when a server binary is missing.
var ErrBinaryNotFound = errors.New("server binary not found")

// Options are optional settings for Start. The zero value is ready to use.
type Options struct {
	// Fsync turns on fsync in PostgreSQL. It is off by default, which makes
	// tests faster and only risks data if the operating system crashes.
	Fsync bool

	// PostgresSettings are extra server settings, each "name=value", passed
	// to postgres with -c after the defaults, which they can override.
	PostgresSettings []string

	// Logf receives progress messages, such as server starts and stops.
	// Nil discards them.
	Logf func(format string, args ...any)

	// StartTimeout is the maximum time a server may take to accept
	// connections. Zero means 30 seconds.
	StartTimeout time.Duration

	// StopTimeout is the maximum time a server may take to exit after the
	// stop signal before it is sent SIGKILL. Zero means 10 seconds.
	StopTimeout time.Duration
}

// Env is a running PostgreSQL and Redis pair. Its methods are safe for
// concurrent use.
type Env struct {
	opts       Options
	dir        string
	credential *syscall.Credential
	pgBinDir   string
	redisBin   string
	pgPort     int
	redisPort  int

	mu       sync.Mutex
	closed   bool
	postgres *process
	redis    *process
}

// Start creates a temporary directory, initializes a PostgreSQL cluster in it
// and starts PostgreSQL and Redis. It returns once both accept connections.
// The caller must call Close.
func Start(ctx context.Context, opts Options) (*Env, error) {
	env, err := newEnv(opts)
	if err != nil {
		return nil, err
	}

	err = env.start(ctx)
	if err != nil {
		return nil, errors.Join(err, env.Close())
	}

	return env, nil
}

func newEnv(opts Options) (*Env, error) {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = defaultStartTimeout
	}

	if opts.StopTimeout <= 0 {
		opts.StopTimeout = defaultStopTimeout
	}

	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}

	env := &Env{opts: opts}

	err := env.findBinaries()
	if err != nil {
		return nil, err
	}

	if os.Geteuid() == 0 {
		env.credential, err = lookupPostgresUser()
		if err != nil {
			return nil, err
		}
	}

	err = env.makeDirs()
	if err != nil {
		return nil, err
	}

	return env, nil
}

func (e *Env) findBinaries() error {
	var err error

	e.pgBinDir, err = findPostgresBinDir()
	if err != nil {
		return err
	}

	e.redisBin, err = findRedisServer()

	return err
}

// makeDirs creates the temporary root directory and the data directories in
// it. The root is world-readable so that the postgres user can reach its
// subdirectories when the tests run as root.
func (e *Env) makeDirs() error {
	dir, err := os.MkdirTemp(os.TempDir(), "eventpulse-testenv-")
	if err != nil {
		return fmt.Errorf("error creating temporary directory in %q: %w", os.TempDir(), err)
	}

	e.dir = dir

	err = os.Chmod(dir, 0o755)
	if err != nil {
		return errors.Join(fmt.Errorf("error changing mode of %q: %w", dir, err), os.RemoveAll(dir))
	}

	err = e.makePostgresDirs()
	if err == nil {
		err = mkdir(e.redisDir(), 0o700)
	}

	if err != nil {
		return errors.Join(err, os.RemoveAll(dir))
	}

	return nil
}

func (e *Env) start(ctx context.Context) error {
	err := e.initdb(ctx)
	if err != nil {
		return err
	}

	err = e.startOnFreePort(ctx, &e.pgPort, e.startPostgres)
	if err != nil {
		return err
	}

	return e.startOnFreePort(ctx, &e.redisPort, e.startRedis)
}

// startOnFreePort picks a free port, stores it in port and calls start. It
// retries with a new port when start fails with errPortInUse.
func (e *Env) startOnFreePort(ctx context.Context, port *int, start func(context.Context) error) error {
	var err error

	for range portAttempts {
		*port, err = freePort()
		if err != nil {
			return err
		}

		e.mu.Lock()
		err = start(ctx)
		e.mu.Unlock()

		if !errors.Is(err, errPortInUse) {
			return err
		}

		e.opts.Logf("testenv: port %d is in use, trying another port", *port)
	}

	return err
}

// ServerPIDs returns the process ids of the PostgreSQL postmaster and of
// redis-server, or 0 for a server that is not running.
func (e *Env) ServerPIDs() (postgres, redis int) {
	e.mu.Lock()
	defer e.mu.Unlock()

	if e.postgres != nil && !e.postgres.exited() {
		postgres = e.postgres.pid()
	}

	if e.redis != nil && !e.redis.exited() {
		redis = e.redis.pid()
	}

	return postgres, redis
}

// AdminURL returns the URL of the postgres database as the postgres superuser.
func (e *Env) AdminURL() string {
	return e.DatabaseURL("postgres")
}

// DatabaseURL returns the URL of the named database as the postgres
// superuser, with TLS disabled.
func (e *Env) DatabaseURL(name string) string {
	databaseURL := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     e.PostgresAddr(),
		Path:     "/" + name,
		RawQuery: "sslmode=disable",
	}

	return databaseURL.String()
}

// PostgresAddr returns the host:port address of PostgreSQL.
func (e *Env) PostgresAddr() string {
	return "127.0.0.1:" + strconv.Itoa(e.pgPort)
}

// RedisAddr returns the host:port address of Redis.
func (e *Env) RedisAddr() string {
	return "127.0.0.1:" + strconv.Itoa(e.redisPort)
}

// Dir returns the temporary directory that contains the data directories and
// the server logs. Close removes it.
func (e *Env) Dir() string {
	return e.dir
}

// Close stops both servers and removes the temporary directory. Calling Close
// again returns nil.
func (e *Env) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()

	if e.closed {
		return nil
	}

	e.closed = true

	errs := []error{e.stopPostgres(), e.stopRedis()}

	err := os.RemoveAll(e.dir)
	if err != nil {
		errs = append(errs, fmt.Errorf("error removing %q: %w", e.dir, err))
	}

	return errors.Join(errs...)
}

// checkOpen returns an error after Close. The caller must hold e.mu.
func (e *Env) checkOpen() error {
	if e.closed {
		return fmt.Errorf("testenv in %q is closed", e.dir)
	}

	return nil
}

func (e *Env) logPath(name string) string {
	return filepath.Join(e.dir, name+".log")
}

func mkdir(path string, mode os.FileMode) error {
	err := os.Mkdir(path, mode)
	if err != nil {
		return fmt.Errorf("error creating directory %q: %w", path, err)
	}

	return nil
}
