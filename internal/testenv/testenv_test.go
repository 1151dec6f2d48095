package testenv

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// sharedEnv is the Env that TestMain starts for all tests in this package.
var sharedEnv *Env

func TestMain(m *testing.M) {
	Main(m, func(env *Env) error {
		sharedEnv = env

		return nil
	})
}

func TestCreateDatabaseSelectOne(t *testing.T) {
	ctx := t.Context()

	err := sharedEnv.CreateDatabase(ctx, "select_one", "")
	if err != nil {
		t.Fatalf("CreateDatabase: %v", err)
	}

	conn := connectPostgres(t, sharedEnv.DatabaseURL("select_one"))

	var result int

	err = conn.QueryRow(ctx, "select 1").Scan(&result)
	if err != nil {
		t.Fatalf("select 1: %v", err)
	}

	if result != 1 {
		t.Errorf("select 1 returned %d", result)
	}
}

func TestCreateDatabaseFromTemplate(t *testing.T) {
	ctx := t.Context()

	err := sharedEnv.CreateDatabase(ctx, "template_source", "")
	if err != nil {
		t.Fatalf("CreateDatabase of template: %v", err)
	}

	source := connectPostgres(t, sharedEnv.DatabaseURL("template_source"))

	_, err = source.Exec(ctx, "create table events (id int primary key); insert into events values (7)")
	if err != nil {
		t.Fatalf("error filling template: %v", err)
	}

	err = source.Close(ctx)
	if err != nil {
		t.Fatalf("error closing template connection: %v", err)
	}

	// The name needs quoting and URL escaping.
	name := `copy "of" Template/1`

	err = sharedEnv.CreateDatabase(ctx, name, "template_source")
	if err != nil {
		t.Fatalf("CreateDatabase from template: %v", err)
	}

	conn := connectPostgres(t, sharedEnv.DatabaseURL(name))

	var currentDatabase string

	var id int

	err = conn.QueryRow(ctx, "select current_database(), id from events").Scan(&currentDatabase, &id)
	if err != nil {
		t.Fatalf("error reading copied table: %v", err)
	}

	if currentDatabase != name {
		t.Errorf("connected to database %q, expected %q", currentDatabase, name)
	}

	if id != 7 {
		t.Errorf("copied row has id %d, expected 7", id)
	}
}

func TestCreateDatabaseDuplicateFails(t *testing.T) {
	ctx := t.Context()

	err := sharedEnv.CreateDatabase(ctx, "duplicate", "")
	if err != nil {
		t.Fatalf("first CreateDatabase: %v", err)
	}

	err = sharedEnv.CreateDatabase(ctx, "duplicate", "")
	if err == nil {
		t.Fatal("second CreateDatabase succeeded, expected an error")
	}
}

func TestRedisPing(t *testing.T) {
	client := connectRedis(t, sharedEnv.RedisAddr())

	reply, err := client.Ping(t.Context()).Result()
	if err != nil {
		t.Fatalf("PING: %v", err)
	}

	if reply != "PONG" {
		t.Errorf("PING returned %q", reply)
	}
}

func TestRedisRestartKeepsAppendOnlyData(t *testing.T) {
	ctx := t.Context()
	addr := sharedEnv.RedisAddr()
	client := connectRedis(t, addr)

	// With appendfsync always, SET returns only after the write reached disk.
	err := client.ConfigSet(ctx, "appendfsync", "always").Err()
	if err != nil {
		t.Fatalf("CONFIG SET appendfsync: %v", err)
	}

	err = client.Set(ctx, "restart-key", "kept", 0).Err()
	if err != nil {
		t.Fatalf("SET: %v", err)
	}

	err = sharedEnv.StopRedis()
	if err != nil {
		t.Fatalf("StopRedis: %v", err)
	}

	err = sharedEnv.StopRedis()
	if err != nil {
		t.Errorf("second StopRedis: %v", err)
	}

	probe := redis.NewClient(&redis.Options{Addr: addr, DialerRetries: 1, MaxRetries: -1})
	defer probe.Close()

	err = probe.Ping(ctx).Err()
	if err == nil {
		t.Error("PING succeeded while Redis was stopped")
	}

	err = sharedEnv.StartRedis()
	if err != nil {
		t.Fatalf("StartRedis: %v", err)
	}

	err = sharedEnv.StartRedis()
	if err != nil {
		t.Errorf("StartRedis while running: %v", err)
	}

	if sharedEnv.RedisAddr() != addr {
		t.Errorf("RedisAddr changed from %q to %q", addr, sharedEnv.RedisAddr())
	}

	value, err := client.Get(ctx, "restart-key").Result()
	if err != nil {
		t.Fatalf("GET after restart: %v", err)
	}

	if value != "kept" {
		t.Errorf("GET after restart returned %q, expected %q", value, "kept")
	}
}

func TestPostgresRestartKeepsData(t *testing.T) {
	ctx := t.Context()

	err := sharedEnv.CreateDatabase(ctx, "restart", "")
	if err != nil {
		t.Fatalf("CreateDatabase: %v", err)
	}

	conn := connectPostgres(t, sharedEnv.DatabaseURL("restart"))

	_, err = conn.Exec(ctx, "create table kept (value text); insert into kept values ('before restart')")
	if err != nil {
		t.Fatalf("error writing row: %v", err)
	}

	err = sharedEnv.StopPostgres()
	if err != nil {
		t.Fatalf("StopPostgres: %v", err)
	}

	err = sharedEnv.StopPostgres()
	if err != nil {
		t.Errorf("second StopPostgres: %v", err)
	}

	err = conn.Ping(ctx)
	if err == nil {
		t.Error("Ping succeeded on a connection to a stopped server")
	}

	err = sharedEnv.StartPostgres()
	if err != nil {
		t.Fatalf("StartPostgres: %v", err)
	}

	err = sharedEnv.StartPostgres()
	if err != nil {
		t.Errorf("StartPostgres while running: %v", err)
	}

	reconnected := connectPostgres(t, sharedEnv.DatabaseURL("restart"))

	var value string

	err = reconnected.QueryRow(ctx, "select value from kept").Scan(&value)
	if err != nil {
		t.Fatalf("error reading row after restart: %v", err)
	}

	if value != "before restart" {
		t.Errorf("row after restart is %q, expected %q", value, "before restart")
	}
}

func TestCloseStopsServersAndRemovesDir(t *testing.T) {
	env, err := Start(t.Context(), Options{Fsync: true, Logf: t.Logf})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}

	dir := env.Dir()
	pgPID := env.postgres.pid()
	redisPID := env.redis.pid()

	err = env.Close()
	if err != nil {
		t.Fatalf("Close: %v", err)
	}

	_, err = os.Stat(dir)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("directory %q still exists after Close (stat error: %v)", dir, err)
	}

	for _, addr := range []string{env.PostgresAddr(), env.RedisAddr()} {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			t.Errorf("%s accepts connections after Close", addr)
		}
	}

	if !env.postgres.exited() || !env.redis.exited() {
		t.Errorf("server processes (postgres pid %d, redis pid %d) still running after Close", pgPID, redisPID)
	}

	err = env.Close()
	if err != nil {
		t.Errorf("second Close: %v", err)
	}

	err = env.StartRedis()
	if err == nil {
		t.Error("StartRedis after Close succeeded, expected an error")
	}
}

func TestStartRedisPortInUse(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("error listening on 127.0.0.1: %v", err)
	}
	defer listener.Close()

	env := newUnstartedEnv(t)

	env.redisPort = listener.Addr().(*net.TCPAddr).Port

	err = env.StartRedis()
	if !errors.Is(err, errPortInUse) {
		t.Fatalf("StartRedis on a used port returned %v, expected errPortInUse", err)
	}

	if !strings.Contains(err.Error(), "Could not create server TCP listening socket") {
		t.Errorf("error does not contain the end of the redis log: %v", err)
	}
}

func TestStartPostgresPortInUse(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("error listening on 127.0.0.1: %v", err)
	}
	defer listener.Close()

	env := newUnstartedEnv(t)

	err = env.initdb(t.Context())
	if err != nil {
		t.Fatalf("initdb: %v", err)
	}

	env.pgPort = listener.Addr().(*net.TCPAddr).Port

	err = env.StartPostgres()
	if !errors.Is(err, errPortInUse) {
		t.Fatalf("StartPostgres on a used port returned %v, expected errPortInUse", err)
	}

	if !strings.Contains(err.Error(), "could not bind IPv4 address") {
		t.Errorf("error does not contain the end of the postgres log: %v", err)
	}
}

func TestDatabaseURL(t *testing.T) {
	env := &Env{pgPort: 5433}

	tests := []struct {
		name     string
		database string
		expected string
	}{
		{"plain", "events", "postgres://postgres@127.0.0.1:5433/events?sslmode=disable"},
		{"admin", "postgres", "postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable"},
		{"escaped", "a b?c", "postgres://postgres@127.0.0.1:5433/a%20b%3Fc?sslmode=disable"},
	}

	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			actual := env.DatabaseURL(test.database)
			if actual != test.expected {
				t.Errorf("DatabaseURL(%q) = %q, expected %q", test.database, actual, test.expected)
			}
		})
	}
}

func TestSortNewestFirst(t *testing.T) {
	dirs := []string{
		"/usr/lib/postgresql/9.6/bin",
		"/usr/lib/postgresql/15/bin",
		"/usr/lib/postgresql/devel/bin",
		"/usr/lib/postgresql/16/bin",
		"/usr/lib/postgresql/10/bin",
	}

	sortNewestFirst(dirs)

	expected := []string{
		"/usr/lib/postgresql/16/bin",
		"/usr/lib/postgresql/15/bin",
		"/usr/lib/postgresql/10/bin",
		"/usr/lib/postgresql/9.6/bin",
		"/usr/lib/postgresql/devel/bin",
	}
	if !slices.Equal(dirs, expected) {
		t.Errorf("sorted to %q, expected %q", dirs, expected)
	}
}

func TestReadTailStartsAtOffset(t *testing.T) {
	path := t.TempDir() + "/server.log"

	err := os.WriteFile(path, []byte("old run\nnew run\n"), 0o600)
	if err != nil {
		t.Fatalf("error writing log: %v", err)
	}

	actual := readTail(path, int64(len("old run\n")))
	if actual != "new run" {
		t.Errorf("readTail returned %q, expected %q", actual, "new run")
	}
}

// newUnstartedEnv returns an Env with directories but no servers, for tests
// that start servers under special conditions.
func newUnstartedEnv(t *testing.T) *Env {
	t.Helper()

	env, err := newEnv(Options{StopTimeout: time.Second})
	if err != nil {
		t.Fatalf("newEnv: %v", err)
	}

	t.Cleanup(func() {
		err := env.Close()
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	})

	return env
}

func connectPostgres(t *testing.T, databaseURL string) *pgx.Conn {
	t.Helper()

	conn, err := pgx.Connect(t.Context(), databaseURL)
	if err != nil {
		t.Fatalf("error connecting to %q: %v", databaseURL, err)
	}

	t.Cleanup(func() {
		// The test may have stopped the server, so a failed close is expected.
		_ = conn.Close(context.Background())
	})

	return conn
}

func connectRedis(t *testing.T, addr string) *redis.Client {
	t.Helper()

	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() {
		_ = client.Close()
	})

	return client
}
