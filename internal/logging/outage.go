package logging

import (
	"context"
	"log/slog"
	"sync"
)

// Outage logs a loop that retries a connection: the first failure at Warn,
// the failures that follow it at Debug, and the first success after them at
// Info. An outage of minutes then writes two lines at the default level
// instead of one at each retry.
type Outage struct {
	mu      sync.Mutex
	failing bool
}

// Failed logs msg with attrs, at Warn unless the previous attempt failed
// too.
func (o *Outage) Failed(ctx context.Context, logger *slog.Logger, msg string, attrs ...slog.Attr) {
	o.mu.Lock()
	level := slog.LevelWarn
	if o.failing {
		level = slog.LevelDebug
	}
	o.failing = true
	o.mu.Unlock()

	logger.LogAttrs(ctx, level, msg, attrs...)
}

// Recovered logs msg at Info when the attempts before it failed, and
// nothing otherwise.
func (o *Outage) Recovered(ctx context.Context, logger *slog.Logger, msg string) {
	o.mu.Lock()
	failing := o.failing
	o.failing = false
	o.mu.Unlock()

	if failing {
		logger.InfoContext(ctx, msg)
	}
}
