package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// postgresInstallHint is the install instruction for the PostgreSQL binaries.
const postgresInstallHint = "Install PostgreSQL with 'apt-get install -y postgresql' (Debian and Ubuntu)"

// StartPostgres starts PostgreSQL again on the same port and data directory
// after StopPostgres. It does nothing if PostgreSQL is running.
func (e *Env) StartPostgres() error {
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.StartTimeout)
	defer cancel()

	e.mu.Lock()
	defer e.mu.Unlock()

	err := e.checkOpen()
	if err != nil {
		return err
	}

	if e.postgres != nil && !e.postgres.exited() {
		return nil
	}

	return e.startPostgres(ctx)
}

// StopPostgres stops PostgreSQL with a fast shutdown (SIGINT), which rolls
// back open transactions and closes client connections. It does nothing if
// PostgreSQL is stopped.
func (e *Env) StopPostgres() error {
	e.mu.Lock()
	defer e.mu.Unlock()

	return e.stopPostgres()
}

// CreateDatabase creates the database name as a copy of template. An empty
// template means the server default, template1. PostgreSQL rejects the copy
// while another session is connected to template.
func (e *Env) CreateDatabase(ctx context.Context, name, template string) error {
	conn, err := pgx.Connect(ctx, e.AdminURL())
	if err != nil {
		return fmt.Errorf("error connecting to %q: %w", e.PostgresAddr(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	statement := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		statement += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}

	_, err = conn.Exec(ctx, statement)
	if err != nil {
		return fmt.Errorf("error creating database %q from template %q: %w", name, template, err)
	}

	return nil
}

func (e *Env) pgDataDir() string {
	return filepath.Join(e.dir, "pgdata")
}

// pgSocketDir is the directory of the Unix-domain socket. PostgreSQL needs
// one, and a private directory keeps it away from a system server's socket.
func (e *Env) pgSocketDir() string {
	return filepath.Join(e.dir, "pgsock")
}

func (e *Env) makePostgresDirs() error {
	for _, dir := range []string{e.pgDataDir(), e.pgSocketDir()} {
		err := mkdir(dir, 0o700)
		if err != nil {
			return err
		}

		err = e.chownToPostgres(dir)
		if err != nil {
			return err
		}
	}

	return nil
}

func (e *Env) chownToPostgres(path string) error {
	if e.credential == nil {
		return nil
	}

	err := os.Chown(path, int(e.credential.Uid), int(e.credential.Gid))
	if err != nil {
		return fmt.Errorf("error changing owner of %q to the postgres user: %w", path, err)
	}

	return nil
}

// initdb creates the cluster. The locale is C so that sorting does not depend
// on the locales installed on the machine.
func (e *Env) initdb(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, filepath.Join(e.pgBinDir, "initdb"),
		"-D", e.pgDataDir(),
		"-A", "trust",
		"-U", "postgres",
		"-E", "UTF8",
		"--locale=C",
		"--no-sync",
	)
	cmd.Dir = e.dir
	cmd.SysProcAttr = childAttributes(e.credential, syscall.SIGKILL)

	output, err := cmd.CombinedOutput()

	logPath := e.logPath("initdb")
	writeErr := os.WriteFile(logPath, output, 0o644)

	if err != nil {
		return fmt.Errorf("error running initdb in %q: %w; output ends with:\n%s", e.pgDataDir(), err, tail(output))
	}

	if writeErr != nil {
		return fmt.Errorf("error writing initdb log %q: %w", logPath, writeErr)
	}

	return nil
}

// startPostgres runs the postgres server and waits until it accepts
// connections. The caller must hold e.mu.
func (e *Env) startPostgres(ctx context.Context) error {
	// The server outlives ctx, so the command must not be bound to it.
	cmd := exec.Command(filepath.Join(e.pgBinDir, "postgres"), e.postgresArgs()...)
	cmd.Dir = e.dir
	// SIGINT requests a fast shutdown, so the server stops cleanly if the
	// test binary dies.
	cmd.SysProcAttr = childAttributes(e.credential, syscall.SIGINT)

	proc, err := startProcess("postgres", cmd, e.logPath("postgres"), syscall.SIGINT)
	if err != nil {
		return err
	}

	e.postgres = proc

	err = waitReady(ctx, proc, e.pingPostgres)
	if err != nil {
		err = errors.Join(err, proc.stop(e.opts.StopTimeout))

		return fmt.Errorf("error starting postgres on %q: %w", e.PostgresAddr(), err)
	}

	e.opts.Logf("testenv: postgres ready on %s (pid %d, data %s, binaries %s)",
		e.PostgresAddr(), proc.pid(), e.pgDataDir(), e.pgBinDir)

	return nil
}

func (e *Env) postgresArgs() []string {
	fsync := "off"
	if e.opts.Fsync {
		fsync = "on"
	}

	args := []string{
		"-D", e.pgDataDir(),
		"-p", strconv.Itoa(e.pgPort),
		"-k", e.pgSocketDir(),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "max_connections=200",
		"-c", "fsync=" + fsync,
	}
	for _, setting := range e.opts.PostgresSettings {
		args = append(args, "-c", setting)
	}

	return args
}

// stopPostgres stops the server. The caller must hold e.mu.
func (e *Env) stopPostgres() error {
	if e.postgres == nil || e.postgres.exited() {
		return nil
	}

	err := e.postgres.stop(e.opts.StopTimeout)
	e.opts.Logf("testenv: postgres (pid %d) stopped", e.postgres.pid())

	return err
}

// pingPostgres connects and checks the data directory, so that a different
// server listening on the port does not count as ready.
func (e *Env) pingPostgres(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()

	conn, err := pgx.Connect(ctx, e.AdminURL())
	if err != nil {
		return fmt.Errorf("error connecting to %q: %w", e.PostgresAddr(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	var dataDir string

	err = conn.QueryRow(ctx, "SHOW data_directory").Scan(&dataDir)
	if err != nil {
		return fmt.Errorf("error reading data_directory from %q: %w", e.PostgresAddr(), err)
	}

	if dataDir != e.pgDataDir() {
		return fmt.Errorf("server on %q has data directory %q, expected %q", e.PostgresAddr(), dataDir, e.pgDataDir())
	}

	return nil
}

// waitReady calls ping until it succeeds, the process exits or ctx ends.
func waitReady(ctx context.Context, proc *process, ping func(context.Context) error) error {
	for {
		if proc.exited() {
			return proc.exitError()
		}

		err := ping(ctx)
		if err == nil {
			return nil
		}

		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s (pid %d) to accept connections: %w; log %q ends with:\n%s",
				proc.name, proc.pid(), err, proc.logPath, proc.output())
		case <-time.After(pollInterval):
		}
	}
}

// findPostgresBinDir returns the directory that contains initdb and postgres.
// It prefers the newest Debian-style /usr/lib/postgresql/VERSION/bin and then
// searches PATH.
func findPostgresBinDir() (string, error) {
	dirs, err := filepath.Glob("/usr/lib/postgresql/*/bin")
	if err != nil {
		return "", fmt.Errorf("error listing PostgreSQL versions: %w", err)
	}

	sortNewestFirst(dirs)

	initdb, err := exec.LookPath("initdb")
	if err == nil {
		dirs = append(dirs, filepath.Dir(initdb))
	}

	for _, dir := range dirs {
		if isFile(filepath.Join(dir, "initdb")) && isFile(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}

	return "", fmt.Errorf("%w: initdb and postgres are in neither /usr/lib/postgresql/*/bin nor PATH. %s",
		ErrBinaryNotFound, postgresInstallHint)
}

// sortNewestFirst sorts /usr/lib/postgresql/VERSION/bin paths by VERSION,
// newest first, comparing dot-separated numbers ("9.6" sorts before "15").
func sortNewestFirst(dirs []string) {
	slices.SortFunc(dirs, func(a, b string) int {
		return slices.Compare(versionNumbers(b), versionNumbers(a))
	})
}

// versionNumbers parses the VERSION part of a path. A part that is not a
// number counts as -1.
func versionNumbers(dir string) []int {
	parts := strings.Split(filepath.Base(filepath.Dir(dir)), ".")
	numbers := make([]int, len(parts))

	for i, part := range parts {
		number, err := strconv.Atoi(part)
		if err != nil {
			number = -1
		}

		numbers[i] = number
	}

	return numbers
}

// lookupPostgresUser returns the credential of the postgres system user.
// initdb and postgres exit with an error when run as root, so a test binary
// running as root starts them as this user.
func lookupPostgresUser() (*syscall.Credential, error) {
	account, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("error looking up user %q, which runs PostgreSQL when tests run as root: %w. %s",
			"postgres", err, postgresInstallHint)
	}

	uid, err := strconv.ParseUint(account.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("error parsing uid %q of user %q: %w", account.Uid, "postgres", err)
	}

	gid, err := strconv.ParseUint(account.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("error parsing gid %q of user %q: %w", account.Gid, "postgres", err)
	}

	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func isFile(path string) bool {
	info, err := os.Stat(path)

	return err == nil && info.Mode().IsRegular()
}

// tail returns the last logTailBytes of output.
func tail(output []byte) string {
	if len(output) > logTailBytes {
		output = output[len(output)-logTailBytes:]
	}

	return strings.TrimRight(string(output), "\n")
}
