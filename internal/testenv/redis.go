package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// StartRedis starts Redis again on the same port and data directory after
// StopRedis. Redis loads the append-only file from that directory. It does
// nothing if Redis is running.
func (e *Env) StartRedis() error {
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.StartTimeout)
	defer cancel()

	e.mu.Lock()
	defer e.mu.Unlock()

	err := e.checkOpen()
	if err != nil {
		return err
	}

	if e.redis != nil && !e.redis.exited() {
		return nil
	}

	return e.startRedis(ctx)
}

// StopRedis stops Redis with SIGTERM, on which Redis writes pending
// append-only file data to disk. It does nothing if Redis is stopped.
func (e *Env) StopRedis() error {
	e.mu.Lock()
	defer e.mu.Unlock()

	return e.stopRedis()
}

func (e *Env) redisDir() string {
	return filepath.Join(e.dir, "redis")
}

// startRedis runs redis-server and waits until it accepts commands. The caller
// must hold e.mu.
func (e *Env) startRedis(ctx context.Context) error {
	// The server outlives ctx, so the command must not be bound to it.
	cmd := exec.Command(e.redisBin, e.redisArgs()...)
	cmd.Dir = e.dir
	cmd.SysProcAttr = childAttributes(nil, syscall.SIGTERM)

	proc, err := startProcess("redis-server", cmd, e.logPath("redis"), syscall.SIGTERM)
	if err != nil {
		return err
	}

	e.redis = proc

	err = waitReady(ctx, proc, func(ctx context.Context) error {
		return e.pingRedis(ctx, proc)
	})
	if err != nil {
		err = errors.Join(err, proc.stop(e.opts.StopTimeout))

		return fmt.Errorf("error starting redis-server on %q: %w", e.RedisAddr(), err)
	}

	e.opts.Logf("testenv: redis-server ready on %s (pid %d, data %s)", e.RedisAddr(), proc.pid(), e.redisDir())

	return nil
}

// redisArgs keeps the data in an append-only file only, because RDB
// snapshots ("save") would add background forks to every test.
func (e *Env) redisArgs() []string {
	return []string{
		"--port", strconv.Itoa(e.redisPort),
		"--bind", "127.0.0.1",
		"--dir", e.redisDir(),
		"--appendonly", "yes",
		"--appendfsync", "everysec",
		"--save", "",
		"--daemonize", "no",
	}
}

// stopRedis stops the server. The caller must hold e.mu.
func (e *Env) stopRedis() error {
	if e.redis == nil || e.redis.exited() {
		return nil
	}

	err := e.redis.stop(e.opts.StopTimeout)
	e.opts.Logf("testenv: redis-server (pid %d) stopped", e.redis.pid())

	return err
}

// pingRedis checks that the port accepts TCP connections, because go-redis
// logs every failed dial, and then that the server is the process proc, so
// that a different server listening on the port does not count as ready.
func (e *Env) pingRedis(ctx context.Context, proc *process) error {
	dialer := net.Dialer{Timeout: time.Second}

	conn, err := dialer.DialContext(ctx, "tcp", e.RedisAddr())
	if err != nil {
		return fmt.Errorf("error connecting to %q: %w", e.RedisAddr(), err)
	}

	conn.Close()

	client := redis.NewClient(&redis.Options{
		Addr:          e.RedisAddr(),
		DialTimeout:   time.Second,
		ReadTimeout:   time.Second,
		DialerRetries: 1,
		MaxRetries:    -1,
	})
	defer client.Close()

	info, err := client.Info(ctx, "server").Result()
	if err != nil {
		return fmt.Errorf("error reading INFO from %q: %w", e.RedisAddr(), err)
	}

	pidLine := "process_id:" + strconv.Itoa(proc.pid()) + "\r\n"
	if !strings.Contains(info, pidLine) {
		return fmt.Errorf("server on %q is not redis-server pid %d", e.RedisAddr(), proc.pid())
	}

	return nil
}

// findRedisServer returns the path of redis-server from PATH or
// /usr/bin/redis-server.
func findRedisServer() (string, error) {
	path, err := exec.LookPath("redis-server")
	if err == nil {
		return path, nil
	}

	if isFile("/usr/bin/redis-server") {
		return "/usr/bin/redis-server", nil
	}

	return "", fmt.Errorf("%w: redis-server is in neither PATH nor /usr/bin. Install it with 'apt-get install -y redis-server' (Debian and Ubuntu)",
		ErrBinaryNotFound)
}
