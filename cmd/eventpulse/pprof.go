package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strconv"
	"sync"
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

// contentionPath reports the sampling of the mutex and block profiles on
// GET and changes it on POST. Block sampling took about 2% of the CPU
// profile of a busy API, so the benchmark turns both off while it
// measures speed.
const contentionPath = "/debug/pprof/contention"

// contentionSampling serves contentionPath. The runtime has no getter for
// the block profile rate, so the rate last set is kept here.
type contentionSampling struct {
	mu            sync.Mutex
	blockRate     int
	mutexFraction int
}

// contentionBody is the JSON response of contentionPath.
type contentionBody struct {
	BlockRateNanos int `json:"block_rate_ns"`
	MutexFraction  int `json:"mutex_fraction"`
}

func (c *contentionSampling) set(blockRate, mutexFraction int) {
	c.mu.Lock()
	defer c.mu.Unlock()

	c.apply(blockRate, mutexFraction)
}

// apply sets the runtime's sampling. The caller holds mu.
func (c *contentionSampling) apply(blockRate, mutexFraction int) {
	runtime.SetBlockProfileRate(blockRate)
	runtime.SetMutexProfileFraction(mutexFraction)
	c.blockRate, c.mutexFraction = blockRate, mutexFraction
}

func (c *contentionSampling) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()

	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		blockRate, mutexFraction := c.blockRate, c.mutexFraction
		query := r.URL.Query()
		for _, param := range []struct {
			name   string
			target *int
		}{{"block_rate_ns", &blockRate}, {"mutex_fraction", &mutexFraction}} {
			if !query.Has(param.name) {
				continue
			}

			raw := query.Get(param.name)
			value, err := strconv.Atoi(raw)
			if err != nil || value < 0 {
				http.Error(w, fmt.Sprintf("invalid %s %q: must be a non-negative integer, 0 to stop sampling",
					param.name, raw), http.StatusBadRequest)
				return
			}
			*param.target = value
		}

		c.apply(blockRate, mutexFraction)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	body := contentionBody{BlockRateNanos: c.blockRate, MutexFraction: c.mutexFraction}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// startPprof serves net/http/pprof on addr (EVENTPULSE_PPROF_ADDR) until
// ctx ends, and turns on mutex and block profiling, which contentionPath
// can turn off and on again. It does nothing when addr is empty. It
// rejects an address that is not loopback, because profiles reveal memory
// contents, as config.Config.Validate does for the variable.
func startPprof(ctx context.Context, addr string, logger *slog.Logger) error {
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

	sampling := &contentionSampling{}
	sampling.set(blockProfileRateNanos, mutexProfileFraction)

	mux := http.NewServeMux()
	mux.Handle(contentionPath, sampling)
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
