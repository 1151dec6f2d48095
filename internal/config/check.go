package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// checkListenAddr returns an error naming variable unless addr is host:port
// with a port number from 0 to 65535. Port 0 picks a free port.
func checkListenAddr(variable, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid %s %q: %w", variable, addr, err)
	}

	if n, err := strconv.ParseUint(port, 10, 16); err != nil || port != strconv.FormatUint(n, 10) {
		return fmt.Errorf("invalid %s %q: the port must be a number from 0 to 65535", variable, addr)
	}

	return nil
}

// checkPprofAddr rejects an EVENTPULSE_PPROF_ADDR whose host is not
// localhost or a loopback IP address, because profiles reveal memory
// contents.
func checkPprofAddr(addr string) error {
	if err := checkListenAddr("EVENTPULSE_PPROF_ADDR", addr); err != nil {
		return err
	}

	host, _, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("invalid EVENTPULSE_PPROF_ADDR %q: must be a loopback address such as 127.0.0.1:6060", addr)
	}

	return nil
}

// checkDatabaseURL parses DATABASE_URL as database.Open does, without
// connecting. pgx replaces the password with xxxxx in its errors, so the
// message does not repeat the value.
func checkDatabaseURL(databaseURL string) error {
	if _, err := pgxpool.ParseConfig(databaseURL); err != nil {
		return fmt.Errorf("invalid DATABASE_URL: %w", err)
	}

	return nil
}

// checkRedisURL parses REDIS_URL as app.OpenRedis does, without
// connecting. The message leaves out the value, which may contain a
// password.
func checkRedisURL(redisURL string) error {
	parsed, err := url.Parse(redisURL)
	if err != nil {
		// A *url.Error repeats the whole URL, so only its cause is shown.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}

		return fmt.Errorf("invalid REDIS_URL: %w", err)
	}

	if port := parsed.Port(); port != "" {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return fmt.Errorf("invalid REDIS_URL: port %s must be a number from 1 to 65535", port)
		}
	}

	if _, err := redis.ParseURL(redisURL); err != nil {
		return fmt.Errorf("invalid REDIS_URL: %w; use redis://host:port/db, or rediss:// for TLS", err)
	}

	return nil
}

// checkNotifyConfig returns an error unless path names a readable file.
// The worker parses the file when it starts.
func checkNotifyConfig(path string) error {
	file, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("invalid EVENTPULSE_NOTIFY_CONFIG %q: no such file; set it to the YAML file of notification channels, or leave it empty for none", path)
	}

	if err != nil {
		return fmt.Errorf("invalid EVENTPULSE_NOTIFY_CONFIG %q: %w", path, err)
	}
	defer file.Close()

	info, err := file.Stat()
	if err != nil {
		return fmt.Errorf("invalid EVENTPULSE_NOTIFY_CONFIG %q: %w", path, err)
	}

	if info.IsDir() {
		return fmt.Errorf("invalid EVENTPULSE_NOTIFY_CONFIG %q: is a directory, not the YAML file of notification channels", path)
	}

	return nil
}
