package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
)

// Garbage collector settings of the serving commands, used unless GOGC or
// GOMEMLIMIT is set. GOGC 200 saved eventpulse about 3 µs of CPU per event
// in make bench's single-event run, and the soft limit bounds the heap.
const (
	gcPercentDefault   = 200
	memoryLimitDefault = 192 << 20
)

// setGCDefaults applies the garbage collector settings that the environment
// leaves unset and logs the values in force.
func setGCDefaults(logger *slog.Logger) {
	gcPercentFrom := "GOGC"
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercentDefault)
		gcPercentFrom = "default"
	}

	memoryLimitFrom := "GOMEMLIMIT"
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimitDefault)
		memoryLimitFrom = "default"
	}

	// The runtime reports GOGC=off as the largest uint64, which converts
	// to -1, the value debug.SetGCPercent uses for off.
	samples := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(samples)

	logger.Info("garbage collector settings",
		slog.Int64("gc_percent", int64(samples[0].Value.Uint64())), slog.String("gc_percent_from", gcPercentFrom),
		slog.Int64("memory_limit_bytes", int64(samples[1].Value.Uint64())), slog.String("memory_limit_from", memoryLimitFrom))
}
