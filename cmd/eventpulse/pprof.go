package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"time"
)

// pprofAddrEnv names the variable that exposes net/http/pprof. Profiling is
// off when it is unset.
const pprofAddrEnv = "EVENTPULSE_PPROF_ADDR"

// Sampling of the mutex and block profiles while pprof is exposed: one
// contention event in mutexProfileFraction, and blocking events in
// proportion to their duration, one per blockProfileRateNanos.
const (
	mutexProfileFraction  = 10
	blockProfileRateNanos = 10_000
)

// startPprof serves net/http/pprof on the loopback address in
// EVENTPULSE_PPROF_ADDR until ctx ends, and turns on mutex and block
// profiling. It does nothing when the variable is unset and rejects an
// address that is not loopback, because profiles reveal memory contents.
func startPprof(ctx context.Context, logger *slog.Logger) error {
	addr := os.Getenv(pprofAddrEnv)
	if addr == "" {
		return nil
	}

	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid %s %q: %w", pprofAddrEnv, addr, err)
	}

	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("invalid %s %q: must be a loopback address such as 127.0.0.1:6060", pprofAddrEnv, addr)
	}

	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("error listening on %s %q: %w", pprofAddrEnv, addr, err)
	}

	runtime.SetMutexProfileFraction(mutexProfileFraction)
	runtime.SetBlockProfileRate(blockProfileRateNanos)

	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)

	server := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}

	go func() {
		err := server.Serve(listener)
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("pprof: server failed", slog.String("addr", addr), slog.Any("error", err))
		}
	}()

	go func() {
		<-ctx.Done()
		_ = server.Close()
	}()

	logger.Info("pprof: listening", slog.String("addr", listener.Addr().String()))

	return nil
}
